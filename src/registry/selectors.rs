//! Label and field selectors: parsing (with upstream's 400 on bad syntax) and matching
//! against a cached object's labels and selectable fields.

use super::validation::{label_value, qualified_name};

#[derive(Clone, Debug, PartialEq)]
enum LabelRequirement {
    Equals(String, String),
    NotEquals(String, String),
    In(String, Vec<String>),
    NotIn(String, Vec<String>),
    Exists(String),
    NotExists(String),
    GreaterThan(String, i64),
    LessThan(String, i64),
}

#[derive(Clone, Debug, Default, PartialEq)]
pub struct LabelSelector {
    requirements: Vec<LabelRequirement>,
}

/// Splits on commas that are not inside parentheses.
fn split_top_level(s: &str) -> Vec<&str> {
    let (mut depth, mut start, mut parts) = (0i32, 0, Vec::new());
    for (i, c) in s.char_indices() {
        match c {
            '(' => depth += 1,
            ')' => depth -= 1,
            ',' if depth == 0 => {
                parts.push(&s[start..i]);
                start = i + 1;
            }
            _ => {}
        }
    }
    parts.push(&s[start..]);
    parts
}

fn check_key(key: &str) -> Result<String, String> {
    let errs = qualified_name(key);
    if errs.is_empty() {
        Ok(key.to_string())
    } else {
        Err(format!(
            "unable to parse requirement: invalid label key \"{key}\": {}",
            errs.join("; ")
        ))
    }
}

fn check_value(value: &str) -> Result<String, String> {
    let errs = label_value(value);
    if errs.is_empty() {
        Ok(value.to_string())
    } else {
        Err(format!(
            "unable to parse requirement: invalid label value: \"{value}\": at key: {}",
            errs.join("; ")
        ))
    }
}

fn parse_set(rest: &str) -> Result<Vec<String>, String> {
    let inner = rest
        .trim()
        .strip_prefix('(')
        .and_then(|r| r.strip_suffix(')'))
        .ok_or_else(|| {
            format!(
                "unable to parse requirement: found '{}', expected: '('",
                rest.trim()
            )
        })?;
    inner.split(',').map(|v| check_value(v.trim())).collect()
}

fn parse_requirement(part: &str) -> Result<LabelRequirement, String> {
    let part = part.trim();
    if let Some(key) = part.strip_prefix('!') {
        return Ok(LabelRequirement::NotExists(check_key(key.trim())?));
    }
    for op in ["!=", "==", "="] {
        if let Some((key, value)) = part.split_once(op) {
            let (key, value) = (check_key(key.trim())?, check_value(value.trim())?);
            return Ok(if op == "!=" {
                LabelRequirement::NotEquals(key, value)
            } else {
                LabelRequirement::Equals(key, value)
            });
        }
    }
    for (op, greater) in [(">", true), ("<", false)] {
        if let Some((key, value)) = part.split_once(op) {
            let number: i64 = value.trim().parse().map_err(|_| format!("unable to parse requirement: for 'Gt', 'Lt' operators, the value must be an integer, got {}", value.trim()))?;
            let key = check_key(key.trim())?;
            return Ok(if greater {
                LabelRequirement::GreaterThan(key, number)
            } else {
                LabelRequirement::LessThan(key, number)
            });
        }
    }
    let mut words = part.splitn(2, char::is_whitespace);
    let key = words.next().unwrap_or("").trim();
    let rest = words.next().unwrap_or("").trim();
    if rest.is_empty() {
        return Ok(LabelRequirement::Exists(check_key(key)?));
    }
    if let Some(set) = rest.strip_prefix("notin") {
        return Ok(LabelRequirement::NotIn(check_key(key)?, parse_set(set)?));
    }
    if let Some(set) = rest.strip_prefix("in") {
        return Ok(LabelRequirement::In(check_key(key)?, parse_set(set)?));
    }
    Err(format!(
        "unable to parse requirement: found '{rest}', expected: in, notin, =, ==, !=, gt, lt"
    ))
}

impl LabelSelector {
    /// Parses upstream's selector syntax; the error is the 400 message.
    pub fn parse(s: &str) -> Result<Self, String> {
        if s.trim().is_empty() {
            return Ok(Self::default());
        }
        let requirements = split_top_level(s)
            .into_iter()
            .map(parse_requirement)
            .collect::<Result<_, _>>()?;
        Ok(Self { requirements })
    }

    pub fn is_empty(&self) -> bool {
        self.requirements.is_empty()
    }

    pub fn matches(&self, labels: &[(String, String)]) -> bool {
        let get = |k: &str| {
            labels
                .iter()
                .find(|(key, _)| key == k)
                .map(|(_, v)| v.as_str())
        };
        self.requirements.iter().all(|r| match r {
            LabelRequirement::Equals(k, v) => get(k) == Some(v),
            LabelRequirement::NotEquals(k, v) => get(k) != Some(v),
            LabelRequirement::In(k, vs) => get(k).is_some_and(|x| vs.iter().any(|v| v == x)),
            LabelRequirement::NotIn(k, vs) => get(k).is_none_or(|x| !vs.iter().any(|v| v == x)),
            LabelRequirement::Exists(k) => get(k).is_some(),
            LabelRequirement::NotExists(k) => get(k).is_none(),
            LabelRequirement::GreaterThan(k, n) => get(k)
                .and_then(|x| x.parse::<i64>().ok())
                .is_some_and(|x| x > *n),
            LabelRequirement::LessThan(k, n) => get(k)
                .and_then(|x| x.parse::<i64>().ok())
                .is_some_and(|x| x < *n),
        })
    }
}

#[derive(Clone, Debug, Default, PartialEq)]
pub struct FieldSelector {
    /// (field, value, equal?)
    terms: Vec<(String, String, bool)>,
}

impl FieldSelector {
    /// Parses `a=b,c!=d`; `known` lists the fields this kind supports.
    pub fn parse(s: &str, known: &[&str]) -> Result<Self, String> {
        let mut terms = Vec::new();
        for part in s.split(',').map(str::trim).filter(|p| !p.is_empty()) {
            let (field, value, equal) = if let Some((f, v)) = part.split_once("!=") {
                (f, v, false)
            } else if let Some((f, v)) = part.split_once("==").or_else(|| part.split_once('=')) {
                (f, v, true)
            } else {
                return Err(format!(
                    "invalid selector: '{s}'; can't understand '{part}'"
                ));
            };
            let field = field.trim();
            if !known.contains(&field) {
                return Err(format!("field label not supported: {field}"));
            }
            terms.push((field.to_string(), value.trim().to_string(), equal));
        }
        Ok(Self { terms })
    }

    pub fn is_empty(&self) -> bool {
        self.terms.is_empty()
    }

    pub fn matches(&self, fields: &[(&'static str, String)], name: &str, namespace: &str) -> bool {
        self.terms.iter().all(|(field, value, equal)| {
            let actual = match field.as_str() {
                "metadata.name" => name,
                "metadata.namespace" => namespace,
                other => fields
                    .iter()
                    .find(|(f, _)| *f == other)
                    .map_or("", |(_, v)| v.as_str()),
            };
            (actual == value) == *equal
        })
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    fn labels(pairs: &[(&str, &str)]) -> Vec<(String, String)> {
        pairs
            .iter()
            .map(|(k, v)| (k.to_string(), v.to_string()))
            .collect()
    }

    #[test]
    fn label_operators() {
        let l = labels(&[("app", "web"), ("tier", "front"), ("n", "5")]);
        for (sel, want) in [
            ("app=web", true),
            ("app==web", true),
            ("app!=web", false),
            ("app in (web, db)", true),
            ("app notin (web)", false),
            ("tier", true),
            ("!tier", false),
            ("!missing", true),
            ("missing notin (x)", true),
            ("app=web,tier=back", false),
            ("n>4,n<6", true),
            ("", true),
        ] {
            assert_eq!(
                LabelSelector::parse(sel).unwrap().matches(&l),
                want,
                "{sel}"
            );
        }
    }

    #[test]
    fn bad_label_selectors() {
        for sel in ["a=(", "a in b", "a in (b", "bad key=x", "a=b c", "a>x"] {
            assert!(LabelSelector::parse(sel).is_err(), "{sel} should not parse");
        }
    }

    #[test]
    fn field_selectors() {
        let known = ["metadata.name", "metadata.namespace"];
        let s = FieldSelector::parse("metadata.name=a,metadata.namespace!=b", &known).unwrap();
        assert!(s.matches(&[], "a", "c"));
        assert!(!s.matches(&[], "a", "b"));
        assert!(FieldSelector::parse("spec.x=1", &known).is_err());
        assert!(FieldSelector::parse("metadata.name", &known).is_err());
    }
}
