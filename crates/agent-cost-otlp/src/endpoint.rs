//! The URL metrics are sent to: `http://HOST[:PORT][/PATH]` or `https://…`, with the OTLP/HTTP
//! metrics path `/v1/metrics` when the URL gives no path (as `OTEL_EXPORTER_OTLP_ENDPOINT` is
//! read; a URL with a path is used as it is, as `OTEL_EXPORTER_OTLP_METRICS_ENDPOINT` is).

/// The OTLP/HTTP path of metrics.
pub const DEFAULT_PATH: &str = "/v1/metrics";

/// Why a URL cannot be sent to.
#[derive(Debug, thiserror::Error, PartialEq, Eq)]
pub enum EndpointError {
    /// Not `scheme://…`.
    #[error("`{0}` is not a URL: write it as http://HOST:PORT (e.g. http://localhost:4318)")]
    NotAUrl(String),
    /// A scheme other than http and https.
    #[error("`{url}`: OTLP/HTTP is sent over http:// or https://, not {scheme}://")]
    Scheme {
        /// The URL as given.
        url: String,
        /// Its scheme.
        scheme: String,
    },
    /// Nothing between `//` and the path.
    #[error("`{0}` names no host")]
    NoHost(String),
    /// A fragment, spaces or control characters.
    #[error("`{0}` holds a fragment (#), a space or a control character")]
    Unusable(String),
}

/// `http` or `https`.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub enum Scheme {
    /// Plain HTTP.
    Http,
    /// HTTP over TLS.
    Https,
}

/// A checked OTLP/HTTP metrics URL.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct Endpoint {
    /// The scheme.
    pub scheme: Scheme,
    /// `host[:port]` as given.
    pub authority: String,
    /// The path and query, starting with `/`.
    pub path: String,
}

impl Endpoint {
    /// Checks `url`; an empty path (or `/` alone) becomes [`DEFAULT_PATH`].
    pub fn parse(url: &str) -> Result<Endpoint, EndpointError> {
        let url = url.trim();
        if url.contains(['#', ' ']) || url.chars().any(char::is_control) {
            return Err(EndpointError::Unusable(url.to_string()));
        }
        let (scheme, rest) = url
            .split_once("://")
            .ok_or_else(|| EndpointError::NotAUrl(url.to_string()))?;
        let scheme = match scheme.to_ascii_lowercase().as_str() {
            "http" => Scheme::Http,
            "https" => Scheme::Https,
            "" => return Err(EndpointError::NotAUrl(url.to_string())),
            other => {
                return Err(EndpointError::Scheme {
                    url: url.to_string(),
                    scheme: other.to_string(),
                });
            }
        };
        let split = rest.find(['/', '?']).unwrap_or(rest.len());
        let (authority, path) = rest.split_at(split);
        if authority.is_empty() || authority.starts_with(':') || authority.ends_with('@') {
            return Err(EndpointError::NoHost(url.to_string()));
        }
        let path = match path {
            "" | "/" => DEFAULT_PATH.to_string(),
            p if p.starts_with('?') => format!("{DEFAULT_PATH}{p}"),
            p => p.to_string(),
        };
        Ok(Endpoint {
            scheme,
            authority: authority.to_string(),
            path,
        })
    }

    /// The full URL the payload is POSTed to.
    pub fn url(&self) -> String {
        let scheme = match self.scheme {
            Scheme::Http => "http",
            Scheme::Https => "https",
        };
        format!("{scheme}://{}{}", self.authority, self.path)
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn a_url_without_a_path_gets_the_metrics_path() {
        for (given, url) in [
            ("http://localhost:4318", "http://localhost:4318/v1/metrics"),
            ("http://localhost:4318/", "http://localhost:4318/v1/metrics"),
            ("HTTP://127.0.0.1:4318", "http://127.0.0.1:4318/v1/metrics"),
            (
                "https://otel.example.com",
                "https://otel.example.com/v1/metrics",
            ),
            ("http://[::1]:4318", "http://[::1]:4318/v1/metrics"),
            ("http://h:1/custom/path", "http://h:1/custom/path"),
            ("http://h:1?x=1", "http://h:1/v1/metrics?x=1"),
            (" http://h:1/v1/metrics ", "http://h:1/v1/metrics"),
        ] {
            assert_eq!(Endpoint::parse(given).unwrap().url(), url, "{given}");
        }
        assert_eq!(Endpoint::parse("https://h").unwrap().scheme, Scheme::Https);
    }

    #[test]
    fn what_is_not_an_http_url_is_refused_with_what_it_is() {
        assert!(matches!(
            Endpoint::parse("localhost:4318"),
            Err(EndpointError::NotAUrl(_))
        ));
        assert!(matches!(
            Endpoint::parse("grpc://localhost:4317"),
            Err(EndpointError::Scheme { scheme, .. }) if scheme == "grpc"
        ));
        assert!(matches!(
            Endpoint::parse("http:///v1/metrics"),
            Err(EndpointError::NoHost(_))
        ));
        assert!(matches!(
            Endpoint::parse("http://:4318"),
            Err(EndpointError::NoHost(_))
        ));
        assert!(matches!(
            Endpoint::parse("http://h/a#b"),
            Err(EndpointError::Unusable(_))
        ));
        assert!(matches!(
            Endpoint::parse("http://h/a\nb"),
            Err(EndpointError::Unusable(_))
        ));
    }
}
