//! What a condition can read from a ticket, prepared once per evaluation.

use std::borrow::Cow;

use jiff::tz::TimeZone;
use jiff::Timestamp;

use super::calendar::{parse_arrival, weekday_name};
use crate::halo::model::Ticket;
use crate::text::comparable;

/// A field a condition tests.
#[derive(Debug, Clone, PartialEq, Eq, Hash)]
pub enum FieldRef {
    Summary,
    Details,
    /// Summary and details together.
    Text,
    UserName,
    UserEmail,
    EmailDomain,
    ClientName,
    ClientId,
    Site,
    TicketType,
    Priority,
    Team,
    Category(u8),
    Source,
    Vip,
    Weekday,
    Hour,
    Arrived,
    Custom(String),
}

/// The names accepted in `field = "..."`, for error messages.
pub const FIELD_NAMES: &str = "summary, details, text, user_name, user_email, email_domain, \
    client_name, client_id, site, ticket_type, priority, team, category_1 … category_4, \
    source, vip, weekday, hour, arrived, custom.<name>";

impl FieldRef {
    pub fn parse(name: &str) -> Option<FieldRef> {
        Some(match name.trim() {
            "summary" => FieldRef::Summary,
            "details" => FieldRef::Details,
            "text" => FieldRef::Text,
            "user_name" => FieldRef::UserName,
            "user_email" => FieldRef::UserEmail,
            "email_domain" => FieldRef::EmailDomain,
            "client_name" => FieldRef::ClientName,
            "client_id" => FieldRef::ClientId,
            "site" => FieldRef::Site,
            "ticket_type" => FieldRef::TicketType,
            "priority" => FieldRef::Priority,
            "team" => FieldRef::Team,
            "category_1" => FieldRef::Category(1),
            "category_2" => FieldRef::Category(2),
            "category_3" => FieldRef::Category(3),
            "category_4" => FieldRef::Category(4),
            "source" => FieldRef::Source,
            "vip" => FieldRef::Vip,
            "weekday" => FieldRef::Weekday,
            "hour" => FieldRef::Hour,
            "arrived" => FieldRef::Arrived,
            other => {
                let name = other.strip_prefix("custom.")?.trim();
                if name.is_empty() {
                    return None;
                }
                FieldRef::Custom(name.to_string())
            }
        })
    }
}

impl FieldRef {
    /// The name as written in a rules file.
    pub fn name(&self) -> String {
        let name = match self {
            FieldRef::Summary => "summary",
            FieldRef::Details => "details",
            FieldRef::Text => "text",
            FieldRef::UserName => "user_name",
            FieldRef::UserEmail => "user_email",
            FieldRef::EmailDomain => "email_domain",
            FieldRef::ClientName => "client_name",
            FieldRef::ClientId => "client_id",
            FieldRef::Site => "site",
            FieldRef::TicketType => "ticket_type",
            FieldRef::Priority => "priority",
            FieldRef::Team => "team",
            FieldRef::Category(level) => return format!("category_{level}"),
            FieldRef::Source => "source",
            FieldRef::Vip => "vip",
            FieldRef::Weekday => "weekday",
            FieldRef::Hour => "hour",
            FieldRef::Arrived => "arrived",
            FieldRef::Custom(name) => return format!("custom.{name}"),
        };
        name.to_string()
    }
}

/// One ticket, ready to be tested: texts in their original case (trimmed) and in
/// [`comparable`] form, each made once. `text` is summary, a line break and details; the summary and details are
/// slices of it, so the ticket body is copied and lower-cased only once.
pub struct Facts<'t> {
    ticket: &'t Ticket,
    text: String,
    summary_end: usize,
    lower_text: String,
    lower_summary_end: usize,
    /// The client's name, trimmed and lower-cased, for rule scopes.
    pub client: String,
    pub arrived: Timestamp,
    local: jiff::ZonedDateTime,
}

impl<'t> Facts<'t> {
    /// `now` stands in for the arrival time when the ticket has none; `time_zone` is the
    /// rules file's, for `weekday` and `hour`.
    pub fn new(ticket: &'t Ticket, now: Timestamp, time_zone: &TimeZone) -> Facts<'t> {
        let details = ticket.plain_details();
        let (summary, details) = (ticket.summary.trim(), details.trim());
        let text = format!("{summary}\n{details}");
        let lower_summary = comparable(summary);
        let lower_summary_end = lower_summary.len();
        let mut lower_text = lower_summary;
        lower_text.push(' ');
        lower_text.push_str(&comparable(details));
        let arrived = ticket
            .dateoccurred
            .as_deref()
            .and_then(parse_arrival)
            .unwrap_or(now);
        Facts {
            ticket,
            summary_end: summary.len(),
            text,
            lower_text,
            lower_summary_end,
            client: ticket.client_name.trim().to_lowercase(),
            arrived,
            local: arrived.to_zoned_datetime(time_zone.clone()),
        }
    }

    pub fn ticket(&self) -> &Ticket {
        self.ticket
    }

    /// The field as text in its original case; "" when missing.
    pub fn text(&self, field: &FieldRef) -> Cow<'_, str> {
        let ticket = self.ticket;
        let id = |v: Option<i64>| {
            Cow::Owned(
                v.filter(|v| *v > 0)
                    .map(|v| v.to_string())
                    .unwrap_or_default(),
            )
        };
        match field {
            FieldRef::Summary => Cow::Borrowed(&self.text[..self.summary_end]),
            FieldRef::Details => Cow::Borrowed(&self.text[self.summary_end + 1..]),
            FieldRef::Text => Cow::Borrowed(&self.text),
            FieldRef::UserName => Cow::Borrowed(&ticket.user_name),
            FieldRef::UserEmail => Cow::Borrowed(&ticket.user_email),
            FieldRef::EmailDomain => Cow::Borrowed(
                ticket
                    .user_email
                    .rsplit_once('@')
                    .map(|(_, d)| d)
                    .unwrap_or(""),
            ),
            FieldRef::ClientName => Cow::Borrowed(&ticket.client_name),
            FieldRef::ClientId => id(ticket.client_id),
            FieldRef::Site => Cow::Borrowed(&ticket.site_name),
            FieldRef::TicketType => id(ticket.tickettype_id),
            FieldRef::Priority => id(ticket.priority_id),
            FieldRef::Team => Cow::Borrowed(&ticket.team),
            FieldRef::Category(level) => Cow::Borrowed(match level {
                1 => &ticket.category_1,
                2 => &ticket.category_2,
                3 => &ticket.category_3,
                _ => &ticket.category_4,
            }),
            FieldRef::Source => id(ticket.source),
            FieldRef::Vip => Cow::Borrowed(if ticket.is_vip { "true" } else { "false" }),
            FieldRef::Weekday => Cow::Borrowed(weekday_name(self.local.weekday())),
            FieldRef::Hour => Cow::Owned(self.local.hour().to_string()),
            FieldRef::Arrived => Cow::Owned(self.arrived.to_string()),
            FieldRef::Custom(name) => Cow::Owned(
                ticket
                    .custom_field(name)
                    .map(|c| c.text())
                    .unwrap_or_default(),
            ),
        }
    }

    /// The field lower-cased, for word and equality tests.
    pub fn lower(&self, field: &FieldRef) -> Cow<'_, str> {
        match field {
            FieldRef::Summary => Cow::Borrowed(&self.lower_text[..self.lower_summary_end]),
            FieldRef::Details => Cow::Borrowed(&self.lower_text[self.lower_summary_end + 1..]),
            FieldRef::Text => Cow::Borrowed(&self.lower_text),
            other => Cow::Owned(comparable(&self.text(other))),
        }
    }
}
