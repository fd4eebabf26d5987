//! The stateright adapter's properties (what the Explorer checks) decide as our checker does:
//! each state or step property has a stateright discovery exactly when our checker found a
//! path for it, on a world small enough for stateright to finish.

use phone_jpki_model::check::{check, CheckOptions};
use phone_jpki_model::explore::JpkiModel;
use phone_jpki_model::Config;
use stateright::{Checker, Model};

#[test]
fn adapter_properties_agree_with_the_checker_on_the_single_world() {
    let config = Config::single();
    let ours = check(&config, &CheckOptions::default(), &mut |_| {});
    assert!(ours.complete);
    let model = JpkiModel {
        config: config.clone(),
    };
    let names: Vec<&'static str> = model.properties().iter().map(|p| p.name).collect();
    assert!(names.len() > 10, "{names:?}");
    let sr = model.checker().threads(2).spawn_bfs().join();
    assert!(sr.is_done());
    for name in names {
        let mine = ours
            .properties
            .iter()
            .find(|p| p.name == name)
            .unwrap_or_else(|| panic!("{name} not checked by ours"));
        assert_eq!(
            sr.discovery(name).is_some(),
            mine.path.is_some(),
            "{name}: stateright and our checker disagree"
        );
    }
}
