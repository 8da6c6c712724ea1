//! A submitted urlencoded or multipart form as name/value pairs, repeated names allowed.

/// The fields of one form submission.
#[derive(Default, serde::Deserialize)]
#[serde(transparent)]
pub struct Fields(pub Vec<(String, String)>);

impl Fields {
    /// The first value of `name`.
    pub fn get(&self, name: &str) -> Option<&str> {
        self.0
            .iter()
            .find(|(n, _)| n == name)
            .map(|(_, v)| v.as_str())
    }

    /// The first value of `name`, trimmed, or "".
    pub fn text(&self, name: &str) -> &str {
        self.get(name).map(str::trim).unwrap_or("")
    }

    /// Every value of `name`, in order.
    pub fn all(&self, name: &str) -> Vec<&str> {
        self.0
            .iter()
            .filter(|(n, _)| n == name)
            .map(|(_, v)| v.as_str())
            .collect()
    }

    pub fn checked(&self, name: &str) -> bool {
        self.get(name).is_some()
    }
}

impl Fields {
    /// A multipart form's parts as fields (file contents as text: the forms upload text keys).
    pub fn from_parts(parts: Vec<crate::web::multipart::Part>) -> Fields {
        Fields(
            parts
                .into_iter()
                .map(|p| (p.name, String::from_utf8_lossy(&p.data).into_owned()))
                .collect(),
        )
    }
}
