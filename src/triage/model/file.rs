//! The model file: versioned, checksummed, self-describing.
//!
//! Layout: `HTMODEL1` (8 bytes), the SHA-256 of everything after it (32 bytes), the length
//! of a JSON header (u64, little-endian), the header (info, labels, terms in feature
//! order, Platt parameters), then the IDF and weights as little-endian f32. A hand-made
//! layout rather than a serialisation crate: the bulk is a million floats, which JSON
//! would make ten times larger, and the format stays readable with a few lines of code.

use std::path::Path;

use serde::{Deserialize, Serialize};
use sha2::{Digest, Sha256};

use super::{Model, ModelInfo, Vectorizer};

const MAGIC: &[u8; 8] = b"HTMODEL1";

#[derive(Debug, thiserror::Error)]
pub enum ModelFileError {
    #[error("reading {path}: {source}")]
    Read {
        path: String,
        source: std::io::Error,
    },
    #[error("writing {path}: {source}")]
    Write {
        path: String,
        source: std::io::Error,
    },
    #[error("{path} is not a halo-triage model (format HTMODEL1): {why}")]
    Format { path: String, why: String },
    #[error("{path} is damaged: its checksum does not match its contents")]
    Checksum { path: String },
}

#[derive(Serialize, Deserialize)]
struct Header {
    info: ModelInfo,
    labels: Vec<String>,
    terms: Vec<String>,
    platt: Vec<(f32, f32)>,
}

impl Model {
    pub fn to_bytes(&self) -> Vec<u8> {
        let header = Header {
            info: self.info.clone(),
            labels: self.labels.clone(),
            terms: self.vectorizer.terms().to_vec(),
            platt: self.platt.clone(),
        };
        let header = serde_json::to_vec(&header).expect("a model header is JSON");
        let mut body = Vec::with_capacity(8 + header.len() + 4 * self.weights.len());
        body.extend_from_slice(&(header.len() as u64).to_le_bytes());
        body.extend_from_slice(&header);
        for value in self.vectorizer.idf.iter().chain(&self.weights) {
            body.extend_from_slice(&value.to_le_bytes());
        }
        let mut bytes = MAGIC.to_vec();
        bytes.extend_from_slice(&Sha256::digest(&body));
        bytes.extend_from_slice(&body);
        bytes
    }

    /// Reads a model; `path` only names it in errors.
    pub fn from_bytes(bytes: &[u8], path: &str) -> Result<Model, ModelFileError> {
        let format = |why: &str| ModelFileError::Format {
            path: path.into(),
            why: why.into(),
        };
        if bytes.len() < 48 || &bytes[..8] != MAGIC {
            return Err(format("it does not start with HTMODEL1"));
        }
        let body = &bytes[40..];
        if Sha256::digest(body).as_slice() != &bytes[8..40] {
            return Err(ModelFileError::Checksum { path: path.into() });
        }
        let length = u64::from_le_bytes(body[..8].try_into().expect("8 bytes")) as usize;
        let header_bytes = body
            .get(8..8 + length)
            .ok_or_else(|| format("the header is cut short"))?;
        let header: Header =
            serde_json::from_slice(header_bytes).map_err(|e| format(&e.to_string()))?;
        let floats: Vec<f32> = body[8 + length..]
            .chunks_exact(4)
            .map(|c| f32::from_le_bytes(c.try_into().expect("4 bytes")))
            .collect();
        let features = header.terms.len();
        let classes = header.labels.len();
        if classes < 2
            || header.platt.len() != classes
            || floats.len() != features + classes * (features + 1)
        {
            return Err(format("its sizes do not agree"));
        }
        let (idf, weights) = floats.split_at(features);
        if !header.terms.windows(2).all(|pair| pair[0] < pair[1]) {
            return Err(format("its terms are not in order"));
        }
        Ok(Model {
            info: header.info,
            labels: header.labels,
            vectorizer: Vectorizer::new(header.terms, idf.to_vec()),
            weights: weights.to_vec(),
            platt: header.platt,
        })
    }

    pub fn save(&self, path: &Path) -> Result<(), ModelFileError> {
        let write = |source| ModelFileError::Write {
            path: path.display().to_string(),
            source,
        };
        if let Some(parent) = path.parent().filter(|p| !p.as_os_str().is_empty()) {
            std::fs::create_dir_all(parent).map_err(write)?;
        }
        // Written aside and renamed: a service reloading the model never reads half a file.
        let partial = path.with_extension("partial");
        std::fs::write(&partial, self.to_bytes()).map_err(write)?;
        std::fs::rename(&partial, path).map_err(write)
    }

    pub fn load(path: &Path) -> Result<Model, ModelFileError> {
        let bytes = std::fs::read(path).map_err(|source| ModelFileError::Read {
            path: path.display().to_string(),
            source,
        })?;
        Model::from_bytes(&bytes, &path.display().to_string())
    }
}

#[cfg(test)]
mod tests {
    use super::*;
    use crate::triage::model::Vectorizer;

    fn model() -> Model {
        let vectorizer = Vectorizer::fit(["toner printer", "printer jam", "vpn down", "vpn"], 2);
        let width = vectorizer.len() + 1;
        Model {
            info: ModelInfo {
                field: "team".into(),
                trained_at: "2026-12-03T00:00:00Z".into(),
                examples: 4,
                held_out: serde_json::json!({"macro_f1": 0.5}),
            },
            labels: vec!["Hardware".into(), "Network".into()],
            vectorizer,
            weights: (0..2 * width).map(|i| i as f32 / 10.0).collect(),
            platt: vec![(-2.0, 0.1), (-1.5, 0.0)],
        }
    }

    #[test]
    fn a_model_reads_back_as_written() {
        let model = model();
        assert_eq!(Model::from_bytes(&model.to_bytes(), "m").unwrap(), model);
    }

    #[test]
    fn a_damaged_or_foreign_file_is_refused_by_name() {
        let mut bytes = model().to_bytes();
        let last = bytes.len() - 1;
        bytes[last] ^= 1;
        let error = Model::from_bytes(&bytes, "m.model")
            .unwrap_err()
            .to_string();
        assert_eq!(
            error,
            "m.model is damaged: its checksum does not match its contents"
        );
        let error = Model::from_bytes(b"{\"not\": \"a model\"}", "m.model")
            .unwrap_err()
            .to_string();
        assert!(error.contains("is not a halo-triage model"), "{error}");
        let error = Model::from_bytes(&model().to_bytes()[..30], "m.model")
            .unwrap_err()
            .to_string();
        assert!(error.contains("is not a halo-triage model"), "{error}");
    }
}
