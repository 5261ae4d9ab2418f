//! Business-hours calendars: days, opening hours and holidays in a time zone.

use jiff::civil::{Date, Time, Weekday};
use jiff::tz::TimeZone;
use jiff::Timestamp;

use super::spec::CalendarSpec;

#[derive(Debug)]
pub struct Calendar {
    time_zone: TimeZone,
    days: Vec<Weekday>,
    start: Time,
    end: Time,
    holidays: Vec<Date>,
}

impl Calendar {
    pub fn compile(spec: &CalendarSpec) -> Result<Calendar, String> {
        let time_zone = time_zone(&spec.timezone)?;
        let days = spec
            .days
            .iter()
            .map(|day| weekday(day).ok_or_else(|| format!("'{day}' is not a day (mon … sun)")))
            .collect::<Result<Vec<_>, _>>()?;
        let clock = |text: &str| {
            text.parse::<Time>()
                .map_err(|_| format!("'{text}' is not a time of day (HH:MM)"))
        };
        let (start, end) = (clock(&spec.start)?, clock(&spec.end)?);
        if start >= end {
            return Err(format!("opens at {start} but closes at {end}"));
        }
        let holidays = spec
            .holidays
            .iter()
            .map(|d| {
                d.parse::<Date>()
                    .map_err(|_| format!("'{d}' is not a date (YYYY-MM-DD)"))
            })
            .collect::<Result<Vec<_>, _>>()?;
        Ok(Calendar {
            time_zone,
            days,
            start,
            end,
            holidays,
        })
    }

    /// Open at `at`: a working day that is no holiday, between opening and closing time,
    /// all in the calendar's own time zone.
    pub fn is_open(&self, at: Timestamp) -> bool {
        let local = at.to_zoned_datetime(self.time_zone.clone());
        let time = local.time();
        self.days.contains(&local.weekday())
            && !self.holidays.contains(&local.date())
            && self.start <= time
            && time < self.end
    }
}

pub fn time_zone(name: &str) -> Result<TimeZone, String> {
    TimeZone::get(name)
        .map_err(|_| format!("'{name}' is not a known time zone (e.g. Europe/London)"))
}

pub fn weekday(name: &str) -> Option<Weekday> {
    Some(match name.trim().to_ascii_lowercase().get(..3)? {
        "mon" => Weekday::Monday,
        "tue" => Weekday::Tuesday,
        "wed" => Weekday::Wednesday,
        "thu" => Weekday::Thursday,
        "fri" => Weekday::Friday,
        "sat" => Weekday::Saturday,
        "sun" => Weekday::Sunday,
        _ => return None,
    })
}

pub fn weekday_name(day: Weekday) -> &'static str {
    match day {
        Weekday::Monday => "mon",
        Weekday::Tuesday => "tue",
        Weekday::Wednesday => "wed",
        Weekday::Thursday => "thu",
        Weekday::Friday => "fri",
        Weekday::Saturday => "sat",
        Weekday::Sunday => "sun",
    }
}

/// When the ticket was logged: Halo's `dateoccurred`, read as UTC when it has no offset.
pub fn parse_arrival(text: &str) -> Option<Timestamp> {
    let text = text.trim();
    text.parse::<Timestamp>().ok().or_else(|| {
        let civil = text.parse::<jiff::civil::DateTime>().ok()?;
        civil
            .to_zoned_datetime(TimeZone::UTC)
            .ok()
            .map(|z| z.timestamp())
    })
}

#[cfg(test)]
mod tests {
    use super::*;

    fn london() -> Calendar {
        Calendar::compile(&CalendarSpec {
            timezone: "Europe/London".into(),
            days: ["mon", "tue", "wed", "thu", "fri"]
                .map(String::from)
                .to_vec(),
            start: "09:00".into(),
            end: "17:30".into(),
            holidays: vec!["2026-12-25".into()],
        })
        .unwrap()
    }

    fn at(text: &str) -> Timestamp {
        parse_arrival(text).unwrap()
    }

    #[test]
    fn opening_hours_are_read_in_the_calendars_time_zone() {
        let calendar = london();
        // Summer time: 08:30 UTC is 09:30 in London.
        assert!(calendar.is_open(at("2026-07-01T08:30:00Z")));
        // Winter: 08:30 UTC is 08:30 in London, before opening.
        assert!(!calendar.is_open(at("2026-11-25T08:30:00Z")));
        assert!(calendar.is_open(at("2026-11-25T17:29:00Z")));
        assert!(!calendar.is_open(at("2026-11-25T17:30:00Z")));
    }

    #[test]
    fn weekends_and_holidays_are_closed_across_the_date_line() {
        let calendar = london();
        assert!(!calendar.is_open(at("2026-11-28T12:00:00Z")), "Saturday");
        assert!(!calendar.is_open(at("2026-12-25T12:00:00Z")), "holiday");
        // 23:30 on Sunday in New York is Monday 04:30 in London: still closed.
        assert!(!calendar.is_open(at("2026-11-29T23:30:00-05:00")));
        // 05:00 on Monday in Sydney is Sunday evening in London: closed.
        assert!(!calendar.is_open(at("2026-11-30T05:00:00+11:00")));
    }

    #[test]
    fn arrival_without_offset_is_utc() {
        assert_eq!(
            at("2026-11-28T09:14:03.217"),
            at("2026-11-28T09:14:03.217Z")
        );
        assert!(parse_arrival("yesterday").is_none());
    }

    #[test]
    fn bad_calendars_say_why() {
        let mut spec = CalendarSpec {
            timezone: "Mars/Olympus".into(),
            days: vec!["mon".into()],
            start: "09:00".into(),
            end: "17:00".into(),
            holidays: vec![],
        };
        assert!(Calendar::compile(&spec).unwrap_err().contains("time zone"));
        spec.timezone = "UTC".into();
        spec.days = vec!["funday".into()];
        assert!(Calendar::compile(&spec).unwrap_err().contains("not a day"));
        spec.days = vec!["mon".into()];
        spec.start = "18:00".into();
        assert!(Calendar::compile(&spec).unwrap_err().contains("closes"));
    }
}
