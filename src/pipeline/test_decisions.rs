//! Decisions for the pipeline's unit tests: four labels a rule set, as the plan and the
//! label check see them.

use crate::halo::{Field, FieldValue};
use crate::triage::decision::{Decided, Source};
use crate::triage::Decision;

pub fn decided(value: FieldValue) -> Decided {
    Decided {
        value,
        source: Source::Rule("r".into()),
        reason: "test".into(),
        confidence: None,
    }
}

pub fn decision() -> Decision {
    let mut decision = Decision::default();
    for (field, value) in [
        (Field::Team, FieldValue::Text("Network".into())),
        (Field::AgentId, FieldValue::Id(4)),
        (Field::Category1, FieldValue::Text("Connectivity".into())),
        (Field::PriorityId, FieldValue::Id(3)),
    ] {
        decision.fields.insert(field, decided(value));
    }
    decision
}
