//! `GET /xapi/about` (Communication §2.8): the versions this LRS serves. No authentication and
//! no version header are required.

use actix_web::{web, HttpResponse, Resource};
use serde_json::json;

use super::openapi::schemas::About;

pub fn resource() -> Resource {
    web::resource("/about")
        .route(web::get().to(about))
        .route(web::head().to(about))
}

/// The xAPI versions this LRS serves.
///
/// No authentication and no `X-Experience-API-Version` header are needed (Communication §2.8).
#[utoipa::path(
    method(get, head),
    path = "/xapi/about",
    tag = "About",
    responses((status = 200, description = "The versions and the server", body = About))
)]
pub async fn about() -> HttpResponse {
    HttpResponse::Ok().json(json!({
        "version": ["1.0.3", "2.0.0"],
        "extensions": {
            "https://cairn.dev/xapi/extensions/server": {
                "name": "Cairn",
                "version": env!("CARGO_PKG_VERSION")
            }
        }
    }))
}
