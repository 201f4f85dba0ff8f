//! A query's complexity as Linear's rate limiting describes it: each property 0.1 point, each
//! object 1 point, and a connection multiplies the points of what it selects by its page
//! size (`first` or `last`, 50 when neither is given). Summed in floating point, so a
//! too-complex query is reported as Linear does ("Complexity: 12304.999999999998").

use apollo_compiler::ExecutableDocument;
use apollo_compiler::Schema;
use apollo_compiler::ast::Value as AstValue;
use apollo_compiler::executable::{Field, Selection, SelectionSet};
use apollo_compiler::schema::ExtendedType;
use serde_json::{Map, Value};

/// Default page size of a connection.
pub(crate) const PAGE: f64 = 50.0;

pub(crate) fn of(
    schema: &Schema,
    doc: &ExecutableDocument,
    set: &SelectionSet,
    vars: &Map<String, Value>,
) -> f64 {
    let mut total = 0.0;
    for sel in &set.selections {
        total += match sel {
            Selection::Field(f) => field(schema, doc, f, vars),
            Selection::FragmentSpread(s) => doc
                .fragments
                .get(&s.fragment_name)
                .map_or(0.0, |frag| of(schema, doc, &frag.selection_set, vars)),
            Selection::InlineFragment(i) => of(schema, doc, &i.selection_set, vars),
        };
    }
    total
}

fn field(schema: &Schema, doc: &ExecutableDocument, f: &Field, vars: &Map<String, Value>) -> f64 {
    if f.name.starts_with("__") {
        return 0.0;
    }
    let ty = f.definition.ty.inner_named_type();
    match schema.types.get(ty) {
        Some(ExtendedType::Scalar(_) | ExtendedType::Enum(_)) | None => 0.1,
        Some(_) => {
            let inner = of(schema, doc, &f.selection_set, vars);
            if ty.as_str().ends_with("Connection") {
                1.0 + page_size(f, vars) * inner
            } else {
                1.0 + inner
            }
        }
    }
}

fn page_size(f: &Field, vars: &Map<String, Value>) -> f64 {
    for name in ["first", "last"] {
        let Some(arg) = f.arguments.iter().find(|a| a.name.as_str() == name) else {
            continue;
        };
        let n = match &*arg.value {
            AstValue::Int(i) => i.as_str().parse::<f64>().ok(),
            AstValue::Variable(v) => vars.get(v.as_str()).and_then(Value::as_f64),
            _ => None,
        };
        if let Some(n) = n {
            return n.max(0.0);
        }
    }
    PAGE
}
