//! The one error type of the HTTP layer, mapped to a status and a JSON body in one place.
//! 500s say nothing internal; the cause goes to the log.

use actix_web::http::{header, StatusCode};
use actix_web::{HttpResponse, ResponseError};
use serde::Serialize;

use crate::auth::AuthError;
use crate::store::StoreError;
use crate::xapi::Violation;

#[derive(Debug, thiserror::Error)]
pub enum ApiError {
    #[error("{message}")]
    BadRequest {
        message: String,
        path: Option<String>,
        rule: Option<String>,
    },
    #[error("{0}")]
    Unauthorized(String),
    #[error("{0}")]
    Forbidden(String),
    #[error("{0}")]
    NotFound(String),
    #[error("{0}")]
    MethodNotAllowed(String),
    #[error("{0}")]
    Conflict(String),
    #[error("{0}")]
    PreconditionFailed(String),
    #[error("request body is larger than the limit of {limit} bytes")]
    PayloadTooLarge { limit: usize },
    /// Overload: no database connection became free in time. Nothing was stored; the
    /// client may retry (RFC 9110 §15.6.4).
    #[error("{0}")]
    Unavailable(String),
    #[error("internal server error")]
    Internal(#[source] anyhow::Error),
}

/// The JSON body of every error response.
#[derive(Debug, Serialize, utoipa::ToSchema)]
pub struct ErrorBody<'a> {
    /// HTTP status code, repeated for clients that only see the body.
    pub status: u16,
    /// A short machine-readable kind: `bad_request`, `unauthorized`, `forbidden`,
    /// `not_found`, `method_not_allowed`, `conflict`, `precondition_failed`,
    /// `payload_too_large`, `unavailable` or `internal_error`.
    #[schema(example = "bad_request")]
    pub error: &'a str,
    /// What went wrong, for a human.
    pub message: String,
    /// JSON path of the offending value in the request body, when there is one.
    #[serde(skip_serializing_if = "Option::is_none")]
    #[schema(example = "$.actor.mbox")]
    pub path: Option<&'a str>,
    /// The rule that was broken, when a statement failed validation.
    #[serde(skip_serializing_if = "Option::is_none")]
    #[schema(example = "schema:pattern")]
    pub rule: Option<&'a str>,
}

impl ApiError {
    pub fn bad_request(message: impl Into<String>) -> Self {
        ApiError::BadRequest {
            message: message.into(),
            path: None,
            rule: None,
        }
    }

    fn kind(&self) -> &'static str {
        match self {
            ApiError::BadRequest { .. } => "bad_request",
            ApiError::Unauthorized(_) => "unauthorized",
            ApiError::Forbidden(_) => "forbidden",
            ApiError::NotFound(_) => "not_found",
            ApiError::MethodNotAllowed(_) => "method_not_allowed",
            ApiError::Conflict(_) => "conflict",
            ApiError::PreconditionFailed(_) => "precondition_failed",
            ApiError::PayloadTooLarge { .. } => "payload_too_large",
            ApiError::Unavailable(_) => "unavailable",
            ApiError::Internal(_) => "internal_error",
        }
    }
}

impl From<Violation> for ApiError {
    fn from(v: Violation) -> Self {
        ApiError::BadRequest {
            message: format!("invalid statement at {}: {}", v.path, v.message),
            path: Some(v.path),
            rule: Some(v.rule),
        }
    }
}

impl From<StoreError> for ApiError {
    fn from(e: StoreError) -> Self {
        match e {
            StoreError::Database(sqlx::Error::PoolTimedOut) => ApiError::Unavailable(
                "the LRS is saturated: no database connection became free in time; nothing \
                 was stored, retry later"
                    .into(),
            ),
            e => ApiError::Internal(e.into()),
        }
    }
}

impl From<AuthError> for ApiError {
    fn from(e: AuthError) -> Self {
        match e {
            AuthError::Store(e) => e.into(),
            other => ApiError::Unauthorized(other.to_string()),
        }
    }
}

impl ResponseError for ApiError {
    fn status_code(&self) -> StatusCode {
        match self {
            ApiError::BadRequest { .. } => StatusCode::BAD_REQUEST,
            ApiError::Unauthorized(_) => StatusCode::UNAUTHORIZED,
            ApiError::Forbidden(_) => StatusCode::FORBIDDEN,
            ApiError::NotFound(_) => StatusCode::NOT_FOUND,
            ApiError::MethodNotAllowed(_) => StatusCode::METHOD_NOT_ALLOWED,
            ApiError::Conflict(_) => StatusCode::CONFLICT,
            ApiError::PreconditionFailed(_) => StatusCode::PRECONDITION_FAILED,
            ApiError::PayloadTooLarge { .. } => StatusCode::PAYLOAD_TOO_LARGE,
            ApiError::Unavailable(_) => StatusCode::SERVICE_UNAVAILABLE,
            ApiError::Internal(_) => StatusCode::INTERNAL_SERVER_ERROR,
        }
    }

    fn error_response(&self) -> HttpResponse {
        if let ApiError::Internal(e) = self {
            tracing::error!(error = ?e, "request failed");
        }
        let (path, rule) = match self {
            ApiError::BadRequest { path, rule, .. } => (path.as_deref(), rule.as_deref()),
            _ => (None, None),
        };
        let status = self.status_code();
        let mut response = HttpResponse::build(status);
        if status == StatusCode::UNAUTHORIZED {
            // RFC 7235 §4.1: a 401 carries a challenge.
            response.insert_header((header::WWW_AUTHENTICATE, r#"Basic realm="Cairn xAPI""#));
        }
        if status == StatusCode::SERVICE_UNAVAILABLE {
            response.insert_header((header::RETRY_AFTER, "1"));
        }
        response.json(ErrorBody {
            status: status.as_u16(),
            error: self.kind(),
            message: self.to_string(),
            path,
            rule,
        })
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn a_saturated_pool_is_503_with_retry_after() {
        let e: ApiError = StoreError::Database(sqlx::Error::PoolTimedOut).into();
        let response = e.error_response();
        assert_eq!(response.status(), StatusCode::SERVICE_UNAVAILABLE);
        assert_eq!(response.headers().get(header::RETRY_AFTER).unwrap(), "1");
        let other: ApiError = StoreError::Database(sqlx::Error::RowNotFound).into();
        assert_eq!(other.status_code(), StatusCode::INTERNAL_SERVER_ERROR);
    }
}
