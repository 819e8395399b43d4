//! The profile's mappings are the loaded objects, the program first, each
//! with the GNU build id its file carries (read here from the file itself),
//! and every location points at the mapping that holds its address.

use object::Object;

#[global_allocator]
static ALLOC: memdiag::Profiled<std::alloc::System> = memdiag::Profiled::new(std::alloc::System);

#[inline(never)]
fn keep() -> Vec<Vec<u8>> {
    (0..64).map(|i| vec![i as u8; 4096]).collect()
}

fn build_id_of(path: &str) -> String {
    let data = std::fs::read(path).unwrap_or_else(|e| panic!("{path}: {e}"));
    let file = object::File::parse(&*data).unwrap();
    file.build_id()
        .unwrap()
        .map(|id| id.iter().map(|b| format!("{b:02x}")).collect())
        .unwrap_or_default()
}

#[test]
fn mappings_are_the_loaded_objects_with_their_build_ids() {
    memdiag::set_sample_rate(1);
    let kept = keep();
    let p = memdiag::heap_profile();
    drop(kept);

    let exe = std::fs::canonicalize(std::env::current_exe().unwrap()).unwrap();
    let main = &p.mappings[0];
    assert_eq!(p.str(main.filename), exe.to_str().unwrap());
    let id = build_id_of(exe.to_str().unwrap());
    assert!(!id.is_empty(), "the test binary has no build id");
    assert_eq!(p.str(main.build_id), id);

    let libc = p
        .mappings
        .iter()
        .find(|m| p.str(m.filename).contains("libc.so"))
        .expect("no mapping for libc");
    assert_eq!(p.str(libc.build_id), build_id_of(p.str(libc.filename)));

    let mut in_main = 0;
    for l in &p.locations {
        let Some(m) = l.mapping else { continue };
        let m = &p.mappings[m as usize];
        assert!(
            (m.memory_start..m.memory_limit).contains(&l.address),
            "{:#x} outside {}",
            l.address,
            p.str(m.filename)
        );
        in_main += (m == main) as usize;
    }
    assert!(in_main > 0, "no location in the program's mapping");
    // Every address that some mapping holds is attributed to it.
    for l in p.locations.iter().filter(|l| l.mapping.is_none()) {
        assert!(
            !p.mappings
                .iter()
                .any(|m| (m.memory_start..m.memory_limit).contains(&l.address)),
            "{:#x} has no mapping",
            l.address
        );
    }
}
