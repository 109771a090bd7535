//! Query-string parameters: parsed once, unknown names rejected
//! (Communication §3.2.s3.b7: 400 for parameters the LRS does not recognise).

use super::ApiError;

/// The parameters of one request, in order.
pub struct Params(Vec<(String, String)>);

impl Params {
    /// Parses the query string and rejects names outside `allowed` and repeated names.
    pub fn parse(query: &str, allowed: &[&str]) -> Result<Self, ApiError> {
        let pairs: Vec<(String, String)> =
            actix_web::web::Query::<Vec<(String, String)>>::from_query(query)
                .map_err(|e| ApiError::bad_request(format!("malformed query string: {e}")))?
                .into_inner();
        for (i, (name, _)) in pairs.iter().enumerate() {
            if !allowed.contains(&name.as_str()) {
                return Err(ApiError::bad_request(format!(
                    "unknown parameter `{name}`; this resource accepts: {}",
                    allowed.join(", ")
                )));
            }
            if pairs[..i].iter().any(|(n, _)| n == name) {
                return Err(ApiError::bad_request(format!(
                    "parameter `{name}` is given more than once"
                )));
            }
        }
        Ok(Params(pairs))
    }

    pub fn get(&self, name: &str) -> Option<&str> {
        self.0
            .iter()
            .find(|(n, _)| n == name)
            .map(|(_, v)| v.as_str())
    }

    pub fn has(&self, name: &str) -> bool {
        self.get(name).is_some()
    }
}
