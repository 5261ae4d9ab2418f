//! Background loops that run beside the workers while the service serves: the reconciler
//! (tickets no webhook brought), housekeeping (retention) and the rules watcher (reload on
//! SIGHUP or change).

pub(crate) mod housekeeping;
pub mod model_watch;
pub mod reconcile;
pub mod rules_watch;
