//! `GET /xapi/about` (Communication §2.8): the versions this LRS serves. No authentication and
//! no version header are required.

use actix_web::{web, HttpResponse, Resource};
use serde_json::json;

pub fn resource() -> Resource {
    web::resource("/about")
        .route(web::get().to(about))
        .route(web::head().to(about))
}

async fn about() -> HttpResponse {
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
