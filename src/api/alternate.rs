//! Alternate request syntax (xAPI 1.0.3 Communication §1.3): a `POST` with `?method=X` whose
//! form-encoded body carries the headers, the query parameters and the content of the
//! intended request. It is rewritten into that request before anything else sees it.
//! xAPI 2.0 removed the syntax, so 2.0 requests using it are rejected.

use actix_web::body::MessageBody;
use actix_web::dev::{Payload, ServiceRequest, ServiceResponse};
use actix_web::http::header::{HeaderName, HeaderValue, CONTENT_LENGTH, CONTENT_TYPE};
use actix_web::http::{Method, Uri};
use actix_web::middleware::Next;
use actix_web::{web, HttpMessage, ResponseError};

use super::{ApiError, AppState};
use crate::xapi::version::{XapiVersion, HEADER};

/// Form parameters treated as headers (Communication §1.3.s3.b6–b7).
const HEADER_PARAMS: [&str; 6] = [
    "authorization",
    "x-experience-api-version",
    "content-type",
    "content-length",
    "if-match",
    "if-none-match",
];

/// The methods a rewritten request may have.
const METHODS: [&str; 5] = ["GET", "PUT", "POST", "DELETE", "HEAD"];

pub async fn rewrite(
    mut req: ServiceRequest,
    next: Next<impl MessageBody + 'static>,
) -> Result<ServiceResponse<impl MessageBody>, actix_web::Error> {
    let uses_syntax = req.path().starts_with("/xapi/")
        && form_urlencoded::parse(req.query_string().as_bytes()).any(|(k, _)| k == "method");
    if !uses_syntax {
        return Ok(next.call(req).await?.map_into_left_body());
    }
    match into_intended_request(&mut req).await {
        Ok(()) => Ok(next.call(req).await?.map_into_left_body()),
        Err(error) => {
            let served = req
                .app_data::<web::Data<AppState>>()
                .map_or(XapiVersion::V2_0_0, |s| s.default_version);
            let mut response = req.into_response(error.error_response());
            response.headers_mut().insert(
                HeaderName::from_static("x-experience-api-version"),
                HeaderValue::from_static(served.as_str()),
            );
            Ok(response.map_into_right_body())
        }
    }
}

async fn into_intended_request(req: &mut ServiceRequest) -> Result<(), ApiError> {
    let query: Vec<(String, String)> = form_urlencoded::parse(req.query_string().as_bytes())
        .into_owned()
        .collect();
    // §1.3.s3.b1, b3: a POST whose only query parameter is `method`.
    if req.method() != Method::POST {
        return Err(ApiError::bad_request(
            "the alternate request syntax (?method=) must be sent as POST",
        ));
    }
    if let Some((other, _)) = query.iter().find(|(k, _)| k != "method") {
        return Err(ApiError::bad_request(format!(
            "with the alternate request syntax, `{other}` goes in the form body; `method` is \
             the only query parameter"
        )));
    }
    let method = query
        .iter()
        .find(|(k, _)| k == "method")
        .map(|(_, v)| v.to_ascii_uppercase())
        .unwrap_or_default();
    if !METHODS.contains(&method.as_str()) {
        return Err(ApiError::bad_request(format!(
            "method must be one of {}, not `{method}`",
            METHODS.join(", ")
        )));
    }
    let content_type = req
        .headers()
        .get(CONTENT_TYPE)
        .and_then(|v| v.to_str().ok())
        .map(super::multipart::essence);
    if content_type.is_some_and(|t| t != "application/x-www-form-urlencoded") {
        return Err(ApiError::bad_request(
            "an alternate-syntax request is sent as application/x-www-form-urlencoded",
        ));
    }
    let limit = req
        .app_data::<web::Data<AppState>>()
        .map_or(usize::MAX, |s| s.max_body_bytes);
    let body = super::collect_body(req.take_payload(), limit, 0).await?;
    let form: Vec<(String, String)> = form_urlencoded::parse(&body).into_owned().collect();

    let mut headers = Vec::new();
    let mut params = form_urlencoded::Serializer::new(String::new());
    let mut content = None;
    for (name, value) in form {
        let lower = name.to_ascii_lowercase();
        if lower == "content" {
            content = Some(value);
        } else if HEADER_PARAMS.contains(&lower.as_str()) {
            headers.push((lower, value));
        } else {
            // §1.3.s3.b14: every other form parameter is a query parameter.
            params.append_pair(&name, &value);
        }
    }
    // The version may come from the real headers or the form; xAPI 2.0 has no such syntax.
    let version = headers
        .iter()
        .find(|(n, _)| n == "x-experience-api-version")
        .map(|(_, v)| v.clone())
        .or_else(|| {
            req.headers()
                .get(HEADER)
                .and_then(|v| v.to_str().ok())
                .map(str::to_string)
        });
    if version.as_deref().and_then(XapiVersion::from_header) == Some(XapiVersion::V2_0_0) {
        return Err(ApiError::bad_request(
            "xAPI 2.0 has no alternate request syntax (?method=); send the request itself",
        ));
    }

    let head = req.head_mut();
    head.method = Method::from_bytes(method.as_bytes()).expect("a listed method");
    let query = params.finish();
    let uri = if query.is_empty() {
        head.uri.path().to_string()
    } else {
        format!("{}?{query}", head.uri.path())
    };
    head.uri = uri
        .parse::<Uri>()
        .map_err(|e| ApiError::bad_request(format!("cannot rebuild the request: {e}")))?;
    head.headers.remove(CONTENT_TYPE);
    head.headers.remove(CONTENT_LENGTH);
    for (name, value) in headers {
        if name == "content-length" {
            continue; // recomputed from the content
        }
        let value = HeaderValue::from_str(&value).map_err(|_| {
            ApiError::bad_request(format!("form parameter {name} is not a valid header value"))
        })?;
        head.headers.insert(
            HeaderName::from_bytes(name.as_bytes()).expect("a listed header"),
            value,
        );
    }
    let uri = head.uri.clone();
    // §1.3.s3.b5: the content is a UTF-8 string; without a Content-Type it is JSON.
    if let Some(content) = content {
        if !req.headers().contains_key(CONTENT_TYPE) {
            req.headers_mut()
                .insert(CONTENT_TYPE, HeaderValue::from_static("application/json"));
        }
        let len = HeaderValue::from_str(&content.len().to_string()).expect("a number");
        req.headers_mut().insert(CONTENT_LENGTH, len);
        req.set_payload(Payload::from(web::Bytes::from(content)));
    }
    req.match_info_mut().get_mut().update(&uri);
    Ok(())
}
