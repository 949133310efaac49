//! Intercom's outbound addresses, to mark a request that came from Intercom: the static list
//! its notifications doc gives, or the IP-range feeds it publishes (INTERCOM.md §5).

use ipnet::IpNet;
use std::net::IpAddr;
use std::path::Path;

/// Intercom's documented static outbound addresses (INTERCOM.md §5, from the notifications
/// doc), used until `--intercom-ips` names the feeds, which are the authority.
const DOCUMENTED: &[(&str, &str)] = &[
    ("34.231.68.152", "US"),
    ("34.197.76.213", "US"),
    ("35.171.78.91", "US"),
    ("35.169.138.21", "US"),
    ("52.70.27.159", "US"),
    ("52.44.63.161", "US"),
    ("54.217.125.63", "EU"),
    ("54.246.173.113", "EU"),
    ("54.216.9.3", "EU"),
    ("52.63.36.185", "AU"),
    ("3.104.68.152", "AU"),
    ("52.64.2.165", "AU"),
];

/// The service a feed entry must name to be an address Intercom sends from.
const SERVICE: &str = "INTERCOM-OUTBOUND";

/// Where the feeds are published, said when a file is not one.
const FEEDS_URL: &str =
    "https://static.intercomcdn.com/intercom-ips/{us,eu,au}/intercom-ip-ranges.json";

/// No feed comes near this; a larger file is not one.
const MAX_FEED: u64 = 8 << 20;

/// Address ranges, each with the Intercom region that sends from it.
type Ranges = Vec<(IpNet, &'static str)>;

/// The address ranges Intercom sends from, each with its region.
#[derive(Debug)]
pub struct Outbound {
    ranges: Ranges,
}

/// What one loaded feed held, for `listen` to say at start.
#[derive(Debug, Clone)]
pub struct Feed {
    /// The file, as named.
    pub path: String,
    /// Its `date` (when Intercom published it), if it has one.
    pub date: Option<String>,
    /// How many `INTERCOM-OUTBOUND` ranges it has.
    pub ranges: usize,
}

impl Outbound {
    /// The static addresses Intercom's notifications doc lists.
    pub fn documented() -> Outbound {
        let ranges = DOCUMENTED
            .iter()
            .map(|(ip, region)| {
                let ip: IpAddr = ip.parse().expect("a documented address parses");
                (IpNet::from(ip), *region)
            })
            .collect();
        Outbound { ranges }
    }

    /// The ranges of the feeds in `paths`, which replace the documented list, or the
    /// documented list when `paths` is empty. The error names the file and what is wrong.
    pub fn load(paths: &[impl AsRef<Path>]) -> Result<(Outbound, Vec<Feed>), crate::error::Error> {
        if paths.is_empty() {
            return Ok((Outbound::documented(), Vec::new()));
        }
        let mut ranges = Vec::new();
        let mut feeds = Vec::new();
        for path in paths {
            let path = path.as_ref();
            let fail = |reason: String| crate::error::Error::IpFeed {
                path: path.to_path_buf(),
                reason,
            };
            let bytes = read_bounded(path).map_err(&fail)?;
            let (found, date) = parse(&bytes).map_err(fail)?;
            feeds.push(Feed {
                path: path.display().to_string(),
                date,
                ranges: found.len(),
            });
            ranges.extend(found);
        }
        Ok((Outbound { ranges }, feeds))
    }

    /// The Intercom region this address sends from, if it is one of Intercom's.
    pub fn region(&self, ip: IpAddr) -> Option<&'static str> {
        let ip = ip.to_canonical();
        self.ranges
            .iter()
            .find(|(net, _)| net.contains(&ip))
            .map(|(_, region)| *region)
    }
}

fn read_bounded(path: &Path) -> Result<Vec<u8>, String> {
    use std::io::Read;
    let file = std::fs::File::open(path).map_err(|e| crate::error::io_words(&e))?;
    let mut bytes = Vec::new();
    file.take(MAX_FEED + 1)
        .read_to_end(&mut bytes)
        .map_err(|e| crate::error::io_words(&e))?;
    if bytes.len() as u64 > MAX_FEED {
        return Err(format!(
            "it is over 8 MiB, which no Intercom IP feed is; download one from {FEEDS_URL}"
        ));
    }
    Ok(bytes)
}

/// The `INTERCOM-OUTBOUND` ranges of one feed, and its date.
fn parse(bytes: &[u8]) -> Result<(Ranges, Option<String>), String> {
    let not_a_feed = |why: String| {
        format!("{why}; it should be Intercom's intercom-ip-ranges.json, from {FEEDS_URL}")
    };
    let feed: serde_json::Value =
        serde_json::from_slice(bytes).map_err(|e| not_a_feed(format!("it is not JSON ({e})")))?;
    if !feed.is_object() {
        return Err(not_a_feed("it is not a JSON object".into()));
    }
    let entries = feed["ip_ranges"]
        .as_array()
        .ok_or_else(|| not_a_feed("it has no \"ip_ranges\" list".into()))?;
    let mut ranges = Vec::new();
    for (i, entry) in entries.iter().enumerate() {
        if entry["service"] != SERVICE {
            continue;
        }
        let range = entry["range"].as_str().unwrap_or_default();
        let net = parse_range(range).ok_or_else(|| {
            not_a_feed(format!(
                "ip_ranges[{i}] has range {}, which is not an address range in CIDR notation (e.g. 34.197.76.213/32)",
                quoted(&entry["range"])
            ))
        })?;
        let region = entry["region"].as_str().and_then(region).ok_or_else(|| {
            not_a_feed(format!(
                "ip_ranges[{i}] has region {}, which is not one of Intercom's (US, EU, AU)",
                quoted(&entry["region"])
            ))
        })?;
        ranges.push((net, region));
    }
    if ranges.is_empty() {
        return Err(not_a_feed(format!(
            "it lists no range for service {SERVICE}"
        )));
    }
    let date = feed["date"]
        .as_str()
        .filter(|d| is_date(d))
        .map(str::to_string);
    Ok((ranges, date))
}

/// A range as the feeds write it (`a.b.c.d/n`), or a bare address, as one address. An
/// IPv4 range written as IPv4-mapped IPv6 (`::ffff:a.b.c.d/n`) is taken as the IPv4 one,
/// as the addresses it is matched against are.
fn parse_range(text: &str) -> Option<IpNet> {
    let net = text
        .parse::<IpNet>()
        .ok()
        .or_else(|| text.parse::<IpAddr>().ok().map(IpNet::from))?;
    match net {
        IpNet::V6(v6) if v6.prefix_len() >= 96 => match v6.addr().to_ipv4_mapped() {
            Some(v4) => ipnet::Ipv4Net::new(v4, v6.prefix_len() - 96)
                .ok()
                .map(IpNet::V4),
            None => Some(net),
        },
        _ => Some(net),
    }
}

/// A feed's value as the error quotes it: JSON, cut short (a file may hold megabytes on a
/// line).
fn quoted(value: &serde_json::Value) -> String {
    let text = value.to_string();
    match text.char_indices().nth(60) {
        Some((at, _)) => format!("{}…", &text[..at]),
        None => text,
    }
}

/// Intercom's regions, the only ones the feeds name (and `intercom_region` may hold).
fn region(name: &str) -> Option<&'static str> {
    ["US", "EU", "AU"].into_iter().find(|r| *r == name)
}

/// The feed's `date` is shown too, so only a plain `YYYY-MM-DD` is kept.
fn is_date(text: &str) -> bool {
    chrono::NaiveDate::parse_from_str(text, "%Y-%m-%d").is_ok() && text.len() == 10
}

#[cfg(test)]
mod tests {
    use super::*;

    fn ip(text: &str) -> IpAddr {
        text.parse().unwrap()
    }

    #[test]
    fn marks_documented_outbound_addresses() {
        let o = Outbound::documented();
        assert_eq!(o.region(ip("54.216.9.3")), Some("EU"));
        assert_eq!(o.region(ip("::ffff:34.231.68.152")), Some("US"));
        assert_eq!(o.region(ip("34.231.68.153")), None);
        assert_eq!(o.region(ip("127.0.0.1")), None);
    }

    #[test]
    fn a_feed_gives_its_outbound_ranges_only() {
        let feed = br#"{"ip_ranges":[
            {"range":"198.51.100.0/24","region":"US","service":"INTERCOM-OUTBOUND"},
            {"range":"203.0.113.0/24","region":"US","service":"INTERCOM-INBOUND"},
            {"range":"2001:db8::/32","region":"EU","service":"INTERCOM-OUTBOUND"},
            {"range":"192.0.2.9","region":"AU","service":"INTERCOM-OUTBOUND"},
            {"range":"::ffff:192.0.2.128/121","region":"EU","service":"INTERCOM-OUTBOUND"}
        ],"date":"2025-07-25"}"#;
        let (ranges, date) = parse(feed).unwrap();
        assert_eq!(date.as_deref(), Some("2025-07-25"));
        let o = Outbound { ranges };
        assert_eq!(o.region(ip("198.51.100.255")), Some("US"));
        assert_eq!(o.region(ip("::ffff:198.51.100.1")), Some("US"));
        assert_eq!(o.region(ip("198.51.101.0")), None);
        assert_eq!(o.region(ip("203.0.113.5")), None, "not an outbound range");
        assert_eq!(o.region(ip("2001:db8:1::7")), Some("EU"));
        assert_eq!(o.region(ip("192.0.2.9")), Some("AU"));
        assert_eq!(
            o.region(ip("192.0.2.130")),
            Some("EU"),
            "a mapped range is IPv4's"
        );
        assert_eq!(
            o.region(ip("34.231.68.152")),
            None,
            "the feed replaces the list"
        );
    }

    #[test]
    fn a_file_that_is_no_feed_says_what_is_wrong() {
        let err = |text: &str| parse(text.as_bytes()).unwrap_err();
        assert!(
            err("<html>").starts_with("it is not JSON ("),
            "{}",
            err("<html>")
        );
        assert!(err("[]").starts_with("it is not a JSON object;"));
        assert!(err("{}").contains("no \"ip_ranges\" list"));
        assert!(err(r#"{"ip_ranges":{}}"#).contains("no \"ip_ranges\" list"));
        assert!(err(r#"{"ip_ranges":[]}"#).contains("no range for service INTERCOM-OUTBOUND"));
        let bad = err(
            r#"{"ip_ranges":[{"range":"1.2.3.4/40","region":"US","service":"INTERCOM-OUTBOUND"}]}"#,
        );
        assert!(
            bad.starts_with("ip_ranges[0] has range \"1.2.3.4/40\", which is not"),
            "{bad}"
        );
        let bad = err(
            r#"{"ip_ranges":[{"range":"1.2.3.4/32","region":"\u001b[2J","service":"INTERCOM-OUTBOUND"}]}"#,
        );
        assert!(
            bad.contains("which is not one of Intercom's (US, EU, AU)"),
            "{bad}"
        );
        assert!(
            bad.ends_with("intercom-ip-ranges.json"),
            "says where to get one: {bad}"
        );
        let long = format!(
            r#"{{"ip_ranges":[{{"range":"{}","region":"US","service":"INTERCOM-OUTBOUND"}}]}}"#,
            "x".repeat(100_000)
        );
        assert!(err(&long).len() < 400, "{}", err(&long).len());
        let (_, date) = parse(br#"{"ip_ranges":[{"range":"1.2.3.4/32","region":"US","service":"INTERCOM-OUTBOUND"}],"date":"\u001b]52;c;x"}"#).unwrap();
        assert_eq!(date, None, "a date that is not one is not shown");
        let (_, date) = parse(br#"{"ip_ranges":[{"range":"1.2.3.4/32","region":"US","service":"INTERCOM-OUTBOUND"}],"date":20250725}"#).unwrap();
        assert_eq!(date, None);
    }
}
