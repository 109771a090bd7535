//! Pure parsers for the measures the warehouse stores as numbers: ISO 8601 durations and the
//! video profile's played segments.

/// Seconds in an ISO 8601 duration (xAPI Data §4.6: `result.duration` is ISO 8601 with
/// precision to 0.01 s). Years and months have no fixed length: they count as 365 and 30 days,
/// which xAPI durations practically never use. `None` when the text is not a duration.
pub fn iso8601_seconds(text: &str) -> Option<f64> {
    let rest = text.strip_prefix('P')?;
    if rest.is_empty() {
        return None;
    }
    let (date, time) = match rest.split_once('T') {
        Some((d, t)) if !t.is_empty() => (d, Some(t)),
        Some(_) => return None,
        None => (rest, None),
    };
    let mut total = 0.0;
    total += components(
        date,
        &[
            ('Y', 365.0 * 86400.0),
            ('M', 30.0 * 86400.0),
            ('W', 7.0 * 86400.0),
            ('D', 86400.0),
        ],
    )?;
    if let Some(t) = time {
        total += components(t, &[('H', 3600.0), ('M', 60.0), ('S', 1.0)])?;
    }
    Some(total)
}

/// Sums `<number><designator>` pairs; designators must appear in the given order.
fn components(mut text: &str, units: &[(char, f64)]) -> Option<f64> {
    let mut total = 0.0;
    let mut next_unit = 0;
    while !text.is_empty() {
        let end = text.find(|c: char| !(c.is_ascii_digit() || c == '.' || c == ','))?;
        let number: f64 = text[..end].replace(',', ".").parse().ok()?;
        let designator = text[end..].chars().next()?;
        let offset = units[next_unit..]
            .iter()
            .position(|(u, _)| *u == designator)?;
        total += number * units[next_unit + offset].1;
        next_unit += offset + 1;
        text = &text[end + designator.len_utf8()..];
    }
    Some(total)
}

/// Seconds covered by the union of played segments, as the xAPI Video Profile writes them in
/// the `played-segments` result extension: `start[.]end` pairs joined by `[,]`
/// (e.g. `0[.]12.5[,]20[.]30` → 22.5). Overlapping segments count once.
pub fn played_seconds(segments: &str) -> Option<f64> {
    let mut spans = Vec::new();
    for part in segments.split("[,]").filter(|p| !p.trim().is_empty()) {
        let (a, b) = part.split_once("[.]")?;
        let a: f64 = a.trim().parse().ok()?;
        let b: f64 = b.trim().parse().ok()?;
        spans.push(if a <= b { (a, b) } else { (b, a) });
    }
    spans.sort_by(|x, y| x.0.total_cmp(&y.0));
    let mut total = 0.0;
    let mut current: Option<(f64, f64)> = None;
    for (a, b) in spans {
        current = match current {
            Some((s, e)) if a <= e => Some((s, e.max(b))),
            Some((s, e)) => {
                total += e - s;
                Some((a, b))
            }
            None => Some((a, b)),
        };
    }
    if let Some((s, e)) = current {
        total += e - s;
    }
    Some(total)
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn durations() {
        assert_eq!(iso8601_seconds("PT9.67S"), Some(9.67));
        assert_eq!(iso8601_seconds("PT1H2M3S"), Some(3723.0));
        assert_eq!(iso8601_seconds("P1DT1S"), Some(86401.0));
        assert_eq!(iso8601_seconds("P2W"), Some(14.0 * 86400.0));
        assert_eq!(iso8601_seconds("PT0,5S"), Some(0.5));
        for bad in ["", "P", "PT", "1S", "PT1X", "PTS", "PT1S1M"] {
            assert_eq!(iso8601_seconds(bad), None, "{bad}");
        }
    }

    #[test]
    fn segments() {
        assert_eq!(played_seconds("0[.]12.5[,]20[.]30"), Some(22.5));
        assert_eq!(played_seconds("0[.]10[,]5[.]15[,]30[.]31"), Some(16.0));
        assert_eq!(played_seconds(""), Some(0.0));
        assert_eq!(played_seconds("x[.]1"), None);
    }
}
