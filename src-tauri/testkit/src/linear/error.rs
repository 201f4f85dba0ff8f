//! Linear's error shapes. The SDK (`packages/sdk/src/error.ts`, `parseLinearError`) reads the
//! first error's `extensions.type` ("authentication error", "ratelimited", "invalid input",
//! "graphql error", …) and falls back to the HTTP status; `userPresentableMessage` is the
//! message it prefers. The bodies below follow answers captured from the real API (an
//! invalid key, a misspelled field, a too complex query, an unknown issue): `type`, `code`,
//! `statusCode`, `userError`, `userPresentableMessage` and Apollo Server's `http.status`,
//! which is also the HTTP status of the answer.

use apollo_compiler::response::{JsonMap, JsonValue};

#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub(crate) enum Kind {
    /// A bad id, a missing input, a too complex query: `INPUT_ERROR`.
    Input,
    /// A write the viewer may not make.
    Forbidden,
    /// No key, a wrong key, a personal key sent as a Bearer token.
    Auth,
    /// Over a budget (requests or complexity per hour).
    RateLimited,
    /// Syntax and validation errors, before anything runs.
    Graphql,
    /// A 500 of the server's own.
    Internal,
    /// A part of the schema the fake does not serve: never silently ignored.
    Unsupported,
}

impl Kind {
    fn type_name(self) -> &'static str {
        match self {
            Kind::Input => "invalid input",
            Kind::Forbidden => "forbidden",
            Kind::Auth => "authentication error",
            Kind::RateLimited => "ratelimited",
            Kind::Graphql => "graphql error",
            Kind::Internal => "internal error",
            Kind::Unsupported => "other",
        }
    }

    pub(crate) fn code(self) -> &'static str {
        match self {
            Kind::Input => "INPUT_ERROR",
            Kind::Forbidden => "FORBIDDEN",
            Kind::Auth => "AUTHENTICATION_ERROR",
            Kind::RateLimited => "RATELIMITED",
            Kind::Graphql => "GRAPHQL_VALIDATION_FAILED",
            Kind::Internal => "INTERNAL_SERVER_ERROR",
            Kind::Unsupported => "FAKE_LINEAR_UNSUPPORTED",
        }
    }

    fn status(self) -> u16 {
        match self {
            Kind::Auth => 401,
            Kind::Forbidden => 403,
            Kind::Internal => 500,
            _ => 400,
        }
    }
}

/// One error as Linear words it.
#[derive(Debug, Clone)]
pub(crate) struct ApiError {
    pub kind: Kind,
    pub message: String,
    pub user_message: Option<String>,
    /// The HTTP status this error gives the answer (Apollo Server's `extensions.http`).
    pub status: u16,
    /// (line, column) of each place a syntax or validation error points at.
    pub locations: Vec<(usize, usize)>,
}

impl ApiError {
    pub fn new(kind: Kind, message: impl Into<String>) -> Self {
        Self {
            kind,
            message: message.into(),
            user_message: None,
            status: kind.status(),
            locations: Vec::new(),
        }
    }

    pub fn input(message: impl Into<String>, user_message: impl Into<String>) -> Self {
        Self::new(Kind::Input, message).presentable(user_message)
    }

    /// An entity that does not exist, as Linear says it ("Entity not found: Issue").
    pub fn not_found(entity: &str) -> Self {
        Self::input(
            format!("Entity not found: {entity}"),
            format!("Could not find referenced {entity}."),
        )
    }

    pub fn unsupported(what: impl std::fmt::Display) -> Self {
        Self::new(
            Kind::Unsupported,
            format!("fake-linear does not serve {what} (extend src-tauri/testkit/src/linear)"),
        )
    }

    pub fn presentable(mut self, message: impl Into<String>) -> Self {
        self.user_message = Some(message.into());
        self
    }

    pub fn with_status(mut self, status: u16) -> Self {
        self.status = status;
        self
    }

    /// The error object, its keys in the order Linear writes them.
    pub fn to_json(&self, path: Option<JsonValue>) -> JsonValue {
        let mut ext = JsonMap::new();
        ext.insert("type", self.kind.type_name().into());
        ext.insert("code", self.kind.code().into());
        // Validation errors come from Apollo Server itself, without Linear's `statusCode`.
        if self.kind != Kind::Graphql {
            ext.insert("statusCode", i64::from(self.status).into());
        }
        ext.insert(
            "userError",
            (!matches!(self.kind, Kind::Internal | Kind::Unsupported)).into(),
        );
        if let Some(m) = &self.user_message {
            ext.insert("userPresentableMessage", m.as_str().into());
        }
        let mut http = JsonMap::new();
        http.insert("status", i64::from(self.status).into());
        http.insert("headers", JsonValue::Object(JsonMap::new()));
        ext.insert("http", JsonValue::Object(http));
        let mut e = JsonMap::new();
        e.insert("message", self.message.as_str().into());
        if !self.locations.is_empty() {
            let locations = self
                .locations
                .iter()
                .map(|(line, column)| {
                    let mut l = JsonMap::new();
                    l.insert("line", (*line as i64).into());
                    l.insert("column", (*column as i64).into());
                    JsonValue::Object(l)
                })
                .collect();
            e.insert("locations", JsonValue::Array(locations));
        }
        if let Some(p) = path {
            e.insert("path", p);
        }
        e.insert("extensions", JsonValue::Object(ext));
        JsonValue::Object(e)
    }
}

/// An answer carrying only errors (a request error: nothing ran, so no `data`).
pub(crate) fn body(errors: &[ApiError]) -> JsonValue {
    let mut b = JsonMap::new();
    b.insert(
        "errors",
        JsonValue::Array(errors.iter().map(|e| e.to_json(None)).collect()),
    );
    JsonValue::Object(b)
}
