//! The error responses every resource shares: each is the JSON [`ErrorBody`] of
//! `api::error` with the status `ApiError` maps to, declared once under
//! `components/responses` and referenced by the operations.
//!
//! [`ErrorBody`]: crate::api::error::ErrorBody

use std::collections::BTreeMap;

use serde_json::json;
use utoipa::openapi::header::HeaderBuilder;
use utoipa::openapi::{ContentBuilder, Ref, RefOr, Response, ResponseBuilder};
use utoipa::{IntoResponses, ToResponse};

/// An error response: `ErrorBody` with an example, and optionally one header.
fn error(description: &str, status: u16, kind: &str, header: Option<(&str, &str)>) -> Response {
    let example = json!({ "status": status, "error": kind, "message": description });
    let content = ContentBuilder::new()
        .schema(Some(Ref::from_schema_name("ErrorBody")))
        .example(Some(example))
        .build();
    let mut response = ResponseBuilder::new()
        .description(description)
        .content("application/json", content);
    if let Some((name, text)) = header {
        let header = HeaderBuilder::new().description(Some(text)).build();
        response = response.header(name, header);
    }
    response.build()
}

macro_rules! error_response {
    (
        $(#[$doc:meta])* $name:ident, $status:literal, $kind:literal, $description:literal
        $(, $header:expr)?
    ) => {
        $(#[$doc])*
        pub struct $name;

        impl<'r> ToResponse<'r> for $name {
            fn response() -> (&'r str, RefOr<Response>) {
                let header: Option<(&str, &str)> = None $(.or(Some($header)))?;
                (stringify!($name), error($description, $status, $kind, header).into())
            }
        }
    };
}

error_response!(
    /// 400: invalid input; nothing was stored.
    BadRequest, 400, "bad_request",
    "Invalid request: a missing or unsupported X-Experience-API-Version header, an unknown or \
     malformed parameter, or an invalid statement (then `path` and `rule` say where and why). \
     Nothing was stored."
);
error_response!(
    /// 401: no valid credentials.
    Unauthorized, 401, "unauthorized",
    "Missing, unknown, revoked or wrong HTTP Basic credentials.",
    ("WWW-Authenticate", "`Basic realm=\"Cairn xAPI\"`")
);
error_response!(
    /// 403: the credential's scopes do not allow the request.
    Forbidden, 403, "forbidden",
    "The credential's scopes do not allow this request."
);
error_response!(
    /// 404: nothing at this address.
    NotFound, 404, "not_found",
    "No such statement or document."
);
error_response!(
    /// 409: the write conflicts with what is stored.
    Conflict, 409, "conflict",
    "Conflicts with what is stored: a statement id already used for different content, or a \
     document PUT over an existing document without If-Match or If-None-Match."
);
error_response!(
    /// 412: an If-Match or If-None-Match precondition failed.
    PreconditionFailed, 412, "precondition_failed",
    "The If-Match or If-None-Match precondition does not hold; nothing was changed."
);
error_response!(
    /// 413: the body is larger than `max_body_bytes`.
    PayloadTooLarge, 413, "payload_too_large",
    "The request body is larger than the server's max_body_bytes setting."
);
error_response!(
    /// 500: an internal error; the body says nothing more, the server log has the cause.
    Internal, 500, "internal_error",
    "Internal server error; the cause is in the server's log."
);
error_response!(
    /// 503: overloaded; nothing was stored and the client may retry.
    Unavailable, 503, "unavailable",
    "The server is saturated (statement writes or database connections); nothing was \
     stored. Retry later.",
    ("Retry-After", "Seconds to wait before retrying.")
);

/// The errors any authenticated request can get: 400, 401, 403, 500 and 503.
pub struct CommonErrors;

impl IntoResponses for CommonErrors {
    fn responses() -> BTreeMap<String, RefOr<Response>> {
        [
            ("400", "BadRequest"),
            ("401", "Unauthorized"),
            ("403", "Forbidden"),
            ("500", "Internal"),
            ("503", "Unavailable"),
        ]
        .into_iter()
        .map(|(status, name)| (status.to_string(), Ref::from_response_name(name).into()))
        .collect()
    }
}
