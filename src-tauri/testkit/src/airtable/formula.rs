//! The part of Airtable's formula language `filterByFormula` is given by Delegate and by
//! people's views: `AND(…)`, `OR(…)`, `NOT(x)`, `=`, `!=`, `{Field}` references, string
//! literals in `'…'` or `"…"` with backslash escapes (as pyairtable writes them), numbers,
//! `TRUE()`, `FALSE()`, `BLANK()`, `RECORD_ID()`. Anything else is refused the way Airtable
//! refuses a formula it cannot read (422 `INVALID_FILTER_BY_FORMULA`).

use serde_json::Value;
use std::collections::HashSet;

#[derive(Debug, Clone, PartialEq)]
pub enum Expr {
    Field(String),
    Text(String),
    Number(f64),
    Call(String, Vec<Expr>),
    Eq(Box<Expr>, Box<Expr>),
    Ne(Box<Expr>, Box<Expr>),
}

/// Why a formula cannot be used, in Airtable's words.
#[derive(Debug, Clone, PartialEq)]
pub struct Invalid(pub String);

const FUNCTIONS: &[&str] = &["AND", "OR", "NOT", "TRUE", "FALSE", "BLANK", "RECORD_ID"];

struct Parser<'a> {
    s: &'a [u8],
    i: usize,
}

impl Parser<'_> {
    fn ws(&mut self) {
        while self.i < self.s.len() && self.s[self.i].is_ascii_whitespace() {
            self.i += 1;
        }
    }

    fn peek(&mut self) -> Option<u8> {
        self.ws();
        self.s.get(self.i).copied()
    }

    fn expect(&mut self, c: u8) -> Result<(), Invalid> {
        if self.peek() == Some(c) {
            self.i += 1;
            Ok(())
        } else {
            Err(bad())
        }
    }

    fn expr(&mut self) -> Result<Expr, Invalid> {
        let left = self.operand()?;
        match self.peek() {
            Some(b'=') => {
                self.i += 1;
                Ok(Expr::Eq(Box::new(left), Box::new(self.operand()?)))
            }
            Some(b'!') if self.s.get(self.i + 1) == Some(&b'=') => {
                self.i += 2;
                Ok(Expr::Ne(Box::new(left), Box::new(self.operand()?)))
            }
            _ => Ok(left),
        }
    }

    fn operand(&mut self) -> Result<Expr, Invalid> {
        match self.peek().ok_or_else(bad)? {
            b'{' => {
                self.i += 1;
                let start = self.i;
                while self.i < self.s.len() && self.s[self.i] != b'}' {
                    self.i += 1;
                }
                let name = std::str::from_utf8(&self.s[start..self.i]).map_err(|_| bad())?;
                self.expect(b'}')?;
                Ok(Expr::Field(name.to_string()))
            }
            q @ (b'\'' | b'"') => {
                self.i += 1;
                let mut out = Vec::new();
                loop {
                    let c = *self.s.get(self.i).ok_or_else(bad)?;
                    self.i += 1;
                    match c {
                        b'\\' => {
                            out.push(*self.s.get(self.i).ok_or_else(bad)?);
                            self.i += 1;
                        }
                        c if c == q => break,
                        c => out.push(c),
                    }
                }
                Ok(Expr::Text(String::from_utf8(out).map_err(|_| bad())?))
            }
            c if c.is_ascii_digit() || c == b'-' => {
                let start = self.i;
                self.i += 1;
                while self
                    .s
                    .get(self.i)
                    .is_some_and(|c| c.is_ascii_digit() || *c == b'.')
                {
                    self.i += 1;
                }
                let n = std::str::from_utf8(&self.s[start..self.i])
                    .ok()
                    .and_then(|n| n.parse().ok())
                    .ok_or_else(bad)?;
                Ok(Expr::Number(n))
            }
            c if c.is_ascii_alphabetic() => {
                let start = self.i;
                while self
                    .s
                    .get(self.i)
                    .is_some_and(|c| c.is_ascii_alphanumeric() || *c == b'_')
                {
                    self.i += 1;
                }
                let name = std::str::from_utf8(&self.s[start..self.i])
                    .map_err(|_| bad())?
                    .to_ascii_uppercase();
                if !FUNCTIONS.contains(&name.as_str()) {
                    return Err(Invalid(format!(
                        "The formula for filtering records is invalid: Unknown function names: {name}"
                    )));
                }
                self.expect(b'(')?;
                let mut args = Vec::new();
                if self.peek() != Some(b')') {
                    loop {
                        args.push(self.expr()?);
                        if self.peek() == Some(b',') {
                            self.i += 1;
                        } else {
                            break;
                        }
                    }
                }
                self.expect(b')')?;
                Ok(Expr::Call(name, args))
            }
            _ => Err(bad()),
        }
    }
}

fn bad() -> Invalid {
    Invalid("The formula for filtering records is invalid: please check your formula text.".into())
}

/// Parses a formula; `fields` are the table's field names (an unknown one is refused).
pub fn parse(text: &str, fields: &HashSet<String>) -> Result<Expr, Invalid> {
    let mut p = Parser {
        s: text.as_bytes(),
        i: 0,
    };
    let e = p.expr()?;
    if p.peek().is_some() {
        return Err(bad());
    }
    let mut unknown = Vec::new();
    collect_unknown(&e, fields, &mut unknown);
    if !unknown.is_empty() {
        return Err(Invalid(format!(
            "The formula for filtering records is invalid: Unknown field names: {}",
            unknown.join(", ")
        )));
    }
    Ok(e)
}

fn collect_unknown(e: &Expr, fields: &HashSet<String>, out: &mut Vec<String>) {
    match e {
        Expr::Field(f) if !fields.contains(f) => out.push(f.to_lowercase()),
        Expr::Call(_, args) => args.iter().for_each(|a| collect_unknown(a, fields, out)),
        Expr::Eq(a, b) | Expr::Ne(a, b) => {
            collect_unknown(a, fields, out);
            collect_unknown(b, fields, out);
        }
        _ => {}
    }
}

/// A value as formulas see it.
#[derive(Debug, Clone, PartialEq)]
enum V {
    Text(String),
    Number(f64),
    Bool(bool),
    Blank,
}

impl V {
    fn truthy(&self) -> bool {
        match self {
            V::Text(t) => !t.is_empty(),
            V::Number(n) => *n != 0.0 && !n.is_nan(),
            V::Bool(b) => *b,
            V::Blank => false,
        }
    }

    fn same(&self, other: &V) -> bool {
        match (self, other) {
            (V::Blank, V::Text(t)) | (V::Text(t), V::Blank) => t.is_empty(),
            (V::Blank, V::Bool(b)) | (V::Bool(b), V::Blank) => !b,
            (V::Number(a), V::Bool(b)) | (V::Bool(b), V::Number(a)) => {
                *a == f64::from(u8::from(*b))
            }
            (a, b) => a == b,
        }
    }
}

/// Whether the record (`id`, `fields` as stored) passes the formula.
pub fn keeps(e: &Expr, id: &str, fields: &serde_json::Map<String, Value>) -> bool {
    eval(e, id, fields).truthy()
}

fn eval(e: &Expr, id: &str, fields: &serde_json::Map<String, Value>) -> V {
    match e {
        Expr::Field(f) => match fields.get(f) {
            None | Some(Value::Null) => V::Blank,
            Some(Value::String(s)) => V::Text(s.clone()),
            Some(Value::Number(n)) => V::Number(n.as_f64().unwrap_or(f64::NAN)),
            Some(Value::Bool(b)) => V::Bool(*b),
            Some(other) => V::Text(other.to_string()),
        },
        Expr::Text(t) => V::Text(t.clone()),
        Expr::Number(n) => V::Number(*n),
        Expr::Eq(a, b) => V::Bool(eval(a, id, fields).same(&eval(b, id, fields))),
        Expr::Ne(a, b) => V::Bool(!eval(a, id, fields).same(&eval(b, id, fields))),
        Expr::Call(name, args) => {
            let all = || args.iter().map(|a| eval(a, id, fields).truthy());
            match name.as_str() {
                "AND" => V::Bool(all().all(|x| x)),
                "OR" => V::Bool(all().any(|x| x)),
                "NOT" => V::Bool(!all().next().unwrap_or(false)),
                "TRUE" => V::Bool(true),
                "FALSE" => V::Bool(false),
                "BLANK" => V::Blank,
                "RECORD_ID" => V::Text(id.to_string()),
                _ => V::Blank,
            }
        }
    }
}

#[cfg(test)]
mod tests {
    use super::*;
    use serde_json::json;

    fn fields() -> HashSet<String> {
        ["Name", "Status", "Owner's note"]
            .iter()
            .map(|s| s.to_string())
            .collect()
    }

    fn row(v: Value) -> serde_json::Map<String, Value> {
        v.as_object().cloned().unwrap_or_default()
    }

    #[test]
    fn the_formulas_delegate_sends() {
        let e = parse(
            "AND(OR({Status} = 'Todo', {Status} = 'In progress'), {Name} != '')",
            &fields(),
        )
        .unwrap();
        assert!(keeps(
            &e,
            "rec1",
            &row(json!({"Name": "A", "Status": "Todo"}))
        ));
        assert!(!keeps(
            &e,
            "rec1",
            &row(json!({"Name": "A", "Status": "Done"}))
        ));
        assert!(
            !keeps(&e, "rec1", &row(json!({"Status": "Todo"}))),
            "a blank name"
        );
        let e = parse("{Name} = 'Guest\\'s \"Name\"'", &fields()).unwrap();
        assert!(keeps(&e, "r", &row(json!({"Name": "Guest's \"Name\""}))));
        let e = parse("RECORD_ID() = 'recX'", &fields()).unwrap();
        assert!(keeps(&e, "recX", &row(json!({}))));
        assert!(!keeps(&e, "recY", &row(json!({}))));
    }

    #[test]
    fn what_airtable_refuses() {
        let e = parse("{Stauts} = 'Todo'", &fields()).unwrap_err();
        assert!(e.0.contains("Unknown field names: stauts"), "{e:?}");
        assert!(parse("AND({Status} = 'Todo'", &fields()).is_err());
        assert!(parse("{Status} = 'Todo", &fields()).is_err());
        assert!(parse("LOWER({Status}) = 'todo'", &fields()).is_err());
    }
}
