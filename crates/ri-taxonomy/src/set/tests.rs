use std::collections::BTreeSet;

use proptest::prelude::*;

use super::*;

fn set(codes: &[&str]) -> FeatureSet {
    FeatureSet::parse(codes.iter().copied()).unwrap()
}

fn codes(set: FeatureSet) -> BTreeSet<&'static str> {
    set.iter().map(FeatureCode::as_str).collect()
}

#[test]
fn parse_accepts_every_code() {
    let all = FeatureSet::parse(FEATURES.iter().map(|f| f.code)).unwrap();
    assert_eq!(all.len(), 63);
    assert!(FeatureCode::all().all(|c| all.contains(c)));
    assert_eq!(all.bits(), i64::MAX);
}

#[test]
fn parse_names_first_unknown_code() {
    for bad in ["T16", "t1", "X", ""] {
        let err = FeatureSet::parse(["T1", bad, "Y"]).unwrap_err();
        assert_eq!(err, UnknownFeature(bad.to_owned()));
    }
}

#[test]
fn insert_remove_report_change() {
    let t1: FeatureCode = "T1".parse().unwrap();
    let mut s = FeatureSet::default();
    assert!(s.is_empty());
    assert!(s.insert(t1));
    assert!(!s.insert(t1));
    assert!(s.remove(t1));
    assert!(!s.remove(t1));
    assert_eq!(s, FeatureSet::empty());
}

#[test]
fn iterates_and_displays_in_taxonomy_order() {
    let s = set(&["A9", "T1", "G2", "P3"]);
    assert_eq!(s.to_string(), "T1,P3,G2,A9");
    assert_eq!(FeatureSet::empty().to_string(), "");
    assert_eq!(s.in_category(Category::Process), set(&["P3"]));
    assert_eq!(
        s.in_category(Category::DevelopmentSupport),
        FeatureSet::empty()
    );
}

#[test]
fn serde_round_trip() {
    let s = set(&["A9", "T1", "D7"]);
    let json = serde_json::to_string(&s).unwrap();
    assert_eq!(json, r#"["T1","D7","A9"]"#);
    assert_eq!(serde_json::from_str::<FeatureSet>(&json).unwrap(), s);
    assert_eq!(
        serde_json::from_str::<FeatureSet>(r#"["T1","T1"]"#).unwrap(),
        set(&["T1"])
    );
    let err = serde_json::from_str::<FeatureSet>(r#"["T1","t1"]"#).unwrap_err();
    assert!(
        err.to_string().contains(r#"unknown feature code "t1""#),
        "{err}"
    );
}

#[test]
fn from_bits_rejects_bits_beyond_taxonomy() {
    assert_eq!(
        FeatureSet::from_bits(i64::MIN),
        Err(UnknownFeature("bit 63".into()))
    );
    assert_eq!(
        FeatureSet::from_bits(-1),
        Err(UnknownFeature("bit 63".into()))
    );
    assert_eq!(FeatureSet::from_bits(0), Ok(FeatureSet::empty()));
    assert_eq!(FeatureSet::from_bits(i64::MAX).map(FeatureSet::len), Ok(63));
}

fn arb_set() -> impl Strategy<Value = FeatureSet> {
    any::<u64>().prop_map(|bits| FeatureSet(bits & VALID))
}

proptest! {
    #[test]
    fn set_ops_agree_with_btreeset(a in arb_set(), b in arb_set()) {
        let (ca, cb) = (codes(a), codes(b));
        prop_assert_eq!(codes(a.union(b)), &ca | &cb);
        prop_assert_eq!(codes(a.intersection(b)), &ca & &cb);
        prop_assert_eq!(codes(a.difference(b)), &ca - &cb);
        prop_assert_eq!(a.is_subset(b), ca.is_subset(&cb));
        prop_assert_eq!(a.intersects(b), !ca.is_disjoint(&cb));
    }

    #[test]
    fn len_matches_iter(a in arb_set()) {
        prop_assert_eq!(a.iter().count(), a.len());
        prop_assert_eq!(a.iter().collect::<FeatureSet>(), a);
    }

    #[test]
    fn bits_round_trip(a in arb_set()) {
        prop_assert!(a.bits() >= 0);
        prop_assert_eq!(FeatureSet::from_bits(a.bits()), Ok(a));
    }

    #[test]
    fn serde_round_trips(a in arb_set()) {
        let json = serde_json::to_string(&a).unwrap();
        prop_assert_eq!(serde_json::from_str::<FeatureSet>(&json).unwrap(), a);
    }
}
