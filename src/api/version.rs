//! `X-Experience-API-Version` on every request and response (Communication §3.3).

use actix_web::body::MessageBody;
use actix_web::dev::{ServiceRequest, ServiceResponse};
use actix_web::http::header::{HeaderName, HeaderValue};
use actix_web::http::Method;
use actix_web::middleware::Next;
use actix_web::{web, HttpMessage, ResponseError};

use super::{ApiError, AppState};
use crate::xapi::primitives::format_timestamp;
use crate::xapi::version::{XapiVersion, HEADER};

/// Requires a supported version header on `/xapi/*` (except `/xapi/about` and CORS
/// preflights), stores the negotiated version in the request, and states the version served
/// on every response, errors included.
pub async fn negotiate(
    req: ServiceRequest,
    next: Next<impl MessageBody + 'static>,
) -> Result<ServiceResponse<impl MessageBody>, actix_web::Error> {
    let header = req
        .headers()
        .get(HEADER)
        .and_then(|v| v.to_str().ok())
        .map(str::to_owned);
    let parsed = header.as_deref().and_then(XapiVersion::from_header);
    let exempt = req.method() == Method::OPTIONS
        || !req.path().starts_with("/xapi/")
        || req.path().trim_end_matches('/') == "/xapi/about";
    let fallback = req
        .app_data::<web::Data<AppState>>()
        .map_or(XapiVersion::V2_0_0, |s| s.default_version);
    let served = parsed.unwrap_or(fallback);
    let stamp = |headers: &mut actix_web::http::header::HeaderMap| {
        headers.insert(
            HeaderName::from_static("x-experience-api-version"),
            HeaderValue::from_static(served.as_str()),
        );
    };
    if parsed.is_none() && !exempt {
        let error = match header {
            None => ApiError::bad_request(format!("the {HEADER} header is required")),
            Some(v) => ApiError::bad_request(format!(
                "unsupported {HEADER} `{v}`; supported: 1.0.0 to 1.0.3 and 2.0.0"
            )),
        };
        let mut response = req.into_response(error.error_response());
        stamp(response.headers_mut());
        return Ok(response.map_into_right_body());
    }
    req.extensions_mut().insert(served);
    // Communication §2.1.3.s2.b5: every Statement Resource response, errors included, says
    // how consistent the store is.
    let statements_resource = req.path().trim_end_matches('/') == "/xapi/statements";
    let consistent = statements_resource
        .then(|| {
            req.app_data::<web::Data<AppState>>()
                .map(|s| s.order.consistent_through())
        })
        .flatten();
    let mut response = next.call(req).await?;
    stamp(response.headers_mut());
    if let Some(t) = consistent {
        if let Ok(v) = HeaderValue::from_str(&format_timestamp(t)) {
            response.headers_mut().insert(
                HeaderName::from_static("x-experience-api-consistent-through"),
                v,
            );
        }
    }
    Ok(response.map_into_left_body())
}

/// The version negotiated for this request (set by [`negotiate`] for every `/xapi` request).
pub fn of(req: &actix_web::HttpRequest) -> XapiVersion {
    req.extensions()
        .get::<XapiVersion>()
        .copied()
        .unwrap_or(XapiVersion::V2_0_0)
}
