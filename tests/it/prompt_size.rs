//! How many prompt tokens one ticket costs: a typical ticket with 30 categories and 15
//! teams on offer, counted with OpenAI's o200k tokenizer (GPT-4o family). Recorded in
//! docs/llm.md; the bound keeps the prompt lean as it evolves.

use halo_triage::llm_prompt::{
    self as llm, id_choices, text_choices, Field, Llm, Offer, OfferedField,
};
use halo_triage::Settings;

/// The prompt tokens of one typical request in `structured_output` mode: the system
/// message, the ticket, and the schema (none in JSON mode, where the labels and the
/// answer's shape are in the system message).
fn prompt_tokens(structured_output: &str) -> (usize, usize, usize) {
    let env = [
        ("HALO_TRIAGE__LLM__ENABLED", "true"),
        ("HALO_TRIAGE__LLM__API_KEY", "sk-test"),
        ("HALO_TRIAGE__LLM__STRUCTURED_OUTPUT", structured_output),
    ]
    .map(|(k, v)| (k.to_string(), v.to_string()));
    let settings = Settings::load_with_env(None, env).unwrap();
    let llm = Llm::new(&settings.llm).unwrap();
    let teams: Vec<String> = (1..=15).map(|i| format!("Team {i} Support")).collect();
    let categories: Vec<String> = (1..=30).map(|i| format!("Category {i}")).collect();
    let offer = Offer {
        fields: vec![
            OfferedField {
                field: Field::Team,
                choices: text_choices(teams.iter().map(String::as_str)),
            },
            OfferedField {
                field: Field::Category1,
                choices: text_choices(categories.iter().map(String::as_str)),
            },
            OfferedField {
                field: Field::PriorityId,
                choices: id_choices(
                    ["Critical", "High", "Medium", "Low"]
                        .iter()
                        .enumerate()
                        .map(|(i, n)| (i as i64 + 1, n.to_string())),
                ),
            },
            OfferedField {
                field: Field::TicketTypeId,
                choices: id_choices([
                    (1, "Incident".to_string()),
                    (3, "Service Request".to_string()),
                ]),
            },
            OfferedField {
                field: Field::Impact,
                choices: id_choices((1..=4).map(|i| (i, i.to_string()))),
            },
            OfferedField {
                field: Field::Urgency,
                choices: id_choices((1..=4).map(|i| (i, i.to_string()))),
            },
        ],
    };
    let details = "Hi team, since this morning Outlook keeps asking me for my password every few \
        minutes. I tried restarting the laptop but it still happens, and webmail works fine. \
        I have a client meeting at 2pm and need my calendar. Thanks, Jane";
    let message = llm::ticket_message(
        &settings.llm,
        "Outlook keeps asking for my password",
        "Globex Corporation",
        details,
    );
    let request = serde_json::to_value(llm.request(&offer, &message).unwrap()).unwrap();

    let bpe = tiktoken_rs::o200k_base().unwrap();
    let count = |text: &str| bpe.encode_with_special_tokens(text).len();
    let system = count(request["messages"][0]["content"].as_str().unwrap());
    let user = count(request["messages"][1]["content"].as_str().unwrap());
    let schema = &request["response_format"]["json_schema"]["schema"];
    let schema = if schema.is_null() {
        0
    } else {
        count(&schema.to_string())
    };
    (system, user, schema)
}

#[test]
fn a_typical_ticket_with_30_categories_and_15_teams_stays_lean() {
    for mode in ["json_schema", "json_object"] {
        let (system, user, schema) = prompt_tokens(mode);
        let total = system + user + schema + 3 * 4;
        println!(
            "{mode}: prompt tokens: system {system}, ticket {user}, schema {schema}, total ~{total}"
        );
        assert!(total < 1200, "{mode}: the prompt grew to ~{total} tokens");
    }
}
