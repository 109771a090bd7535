//! Tabular responses (reports, ad-hoc SQL): JSON, CSV, Arrow IPC stream or Parquet, chosen
//! by `format=` or else the `Accept` header, with the warehouse state they were read from.

use actix_web::http::header;
use actix_web::{HttpRequest, HttpResponse};
use arrow::record_batch::RecordBatch;
use serde_json::{json, Map, Value};

use crate::api::ApiError;
use crate::warehouse::reports::{Freshness, Table};

#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub enum Format {
    Json,
    Csv,
    Arrow,
    Parquet,
}

pub const ARROW_STREAM: &str = "application/vnd.apache.arrow.stream";
pub const PARQUET: &str = "application/vnd.apache.parquet";

impl Format {
    fn content_type(self) -> &'static str {
        match self {
            Format::Json => "application/json",
            Format::Csv => "text/csv; charset=utf-8",
            Format::Arrow => ARROW_STREAM,
            Format::Parquet => PARQUET,
        }
    }

    /// `format=json|csv|arrow|parquet` wins; else the first `Accept` type we serve; else JSON.
    pub fn negotiate(req: &HttpRequest, param: Option<&str>) -> Result<Format, ApiError> {
        if let Some(p) = param {
            return match p {
                "json" => Ok(Format::Json),
                "csv" => Ok(Format::Csv),
                "arrow" => Ok(Format::Arrow),
                "parquet" => Ok(Format::Parquet),
                other => Err(ApiError::bad_request(format!(
                    "invalid `format`: `{other}` is not one of json, csv, arrow, parquet"
                ))),
            };
        }
        let accept = req
            .headers()
            .get(header::ACCEPT)
            .and_then(|v| v.to_str().ok())
            .unwrap_or("");
        for part in accept.split(',') {
            let mime = part.split(';').next().unwrap_or("").trim();
            match mime {
                "application/json" => return Ok(Format::Json),
                "text/csv" => return Ok(Format::Csv),
                ARROW_STREAM | "application/vnd.apache.arrow.file" => return Ok(Format::Arrow),
                PARQUET | "application/x-parquet" => return Ok(Format::Parquet),
                _ => {}
            }
        }
        Ok(Format::Json)
    }
}

fn encode_error(e: impl std::fmt::Display) -> ApiError {
    ApiError::Internal(anyhow::anyhow!("encoding the result: {e}"))
}

/// The rows as JSON objects (arrow-json: dates and timestamps as ISO 8601 text, NULLs kept).
pub fn json_rows(table: &Table) -> Result<Value, ApiError> {
    let mut writer = arrow::json::WriterBuilder::new()
        .with_explicit_nulls(true)
        .build::<_, arrow::json::writer::JsonArray>(Vec::new());
    let refs: Vec<&RecordBatch> = table.batches.iter().collect();
    writer.write_batches(&refs).map_err(encode_error)?;
    writer.finish().map_err(encode_error)?;
    let bytes = writer.into_inner();
    if bytes.is_empty() {
        return Ok(Value::Array(Vec::new()));
    }
    serde_json::from_slice(&bytes).map_err(encode_error)
}

fn columns(table: &Table) -> Value {
    Value::Array(
        table
            .schema
            .fields()
            .iter()
            .map(|f| json!({"name": f.name(), "type": f.data_type().to_string()}))
            .collect(),
    )
}

fn encode(table: &Table, format: Format) -> Result<Vec<u8>, ApiError> {
    let mut out = Vec::new();
    match format {
        Format::Csv => {
            let mut w = arrow::csv::WriterBuilder::new()
                .with_header(true)
                .build(&mut out);
            for b in &table.batches {
                w.write(b).map_err(encode_error)?;
            }
        }
        Format::Arrow => {
            let mut w = arrow::ipc::writer::StreamWriter::try_new(&mut out, &table.schema)
                .map_err(encode_error)?;
            for b in &table.batches {
                w.write(b).map_err(encode_error)?;
            }
            w.finish().map_err(encode_error)?;
        }
        Format::Parquet => {
            let mut w = parquet::arrow::ArrowWriter::try_new(&mut out, table.schema.clone(), None)
                .map_err(encode_error)?;
            for b in &table.batches {
                w.write(b).map_err(encode_error)?;
            }
            w.close().map_err(encode_error)?;
        }
        Format::Json => unreachable!("JSON is written by `respond`"),
    }
    Ok(out)
}

/// Freshness headers: when the state was loaded and how many runs it has seen.
fn freshness_headers(builder: &mut actix_web::HttpResponseBuilder, f: &Freshness) {
    if let Some(t) = f.as_of {
        builder.insert_header(("X-Cairn-Warehouse-As-Of", t.to_rfc3339()));
    }
    builder.insert_header(("X-Cairn-Warehouse-Runs", f.runs.to_string()));
}

/// The response: JSON is an envelope (`meta` with `total`, `next`, `warehouse`, `columns` and
/// `rows`); CSV, Arrow and Parquet are the bare table, with the row count, the next page and
/// the freshness in headers.
pub fn respond(
    table: &Table,
    format: Format,
    freshness: &Freshness,
    total: usize,
    next: Option<String>,
    mut meta: Map<String, Value>,
) -> Result<HttpResponse, ApiError> {
    let mut builder = HttpResponse::Ok();
    freshness_headers(&mut builder, freshness);
    builder.content_type(format.content_type());
    if format == Format::Json {
        meta.insert("total".into(), total.into());
        if let Some(next) = next {
            meta.insert("next".into(), next.into());
        }
        meta.insert(
            "warehouse".into(),
            serde_json::to_value(freshness).map_err(encode_error)?,
        );
        meta.insert("columns".into(), columns(table));
        meta.insert("rows".into(), json_rows(table)?);
        return Ok(builder.json(Value::Object(meta)));
    }
    builder.insert_header(("X-Cairn-Total-Rows", total.to_string()));
    if let Some(next) = next {
        builder.insert_header((header::LINK, format!("<{next}>; rel=\"next\"")));
    }
    Ok(builder.body(encode(table, format)?))
}
