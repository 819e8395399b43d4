//! The objects loaded in this process (the program first, then its shared
//! libraries and the vDSO), each with its address range, file and GNU build
//! id: the profile's mappings. Read from the loader (`dl_iterate_phdr`) at
//! export time.

/// One loaded object: the span of its loadable segments, page-aligned as in
/// `/proc/self/maps`.
pub(crate) struct Object {
    pub(crate) start: u64,
    pub(crate) limit: u64,
    /// File offset of `start`.
    pub(crate) offset: u64,
    pub(crate) path: String,
    /// Hex, or empty when the object has none.
    pub(crate) build_id: String,
    /// Run-time address minus link-time address.
    pub(crate) bias: u64,
}

const PAGE: u64 = 4096;

/// Every loaded object with loadable segments, the main program first.
/// Allocates: call with the reentrancy guard set.
pub(crate) fn loaded() -> Vec<Object> {
    let mut out: Vec<Object> = Vec::new();
    for_each(|info| {
        // SAFETY: `for_each` passes the loader's record of a mapped object.
        if let Some(o) = unsafe { object(info, out.is_empty()) } {
            out.push(o);
        }
    });
    out
}

/// Calls `f` with the loader's record of each loaded object, the main
/// program first (`dl_iterate_phdr`, under the loader's lock).
pub(crate) fn for_each<F: FnMut(&libc::dl_phdr_info)>(mut f: F) {
    unsafe extern "C" fn each<F: FnMut(&libc::dl_phdr_info)>(
        info: *mut libc::dl_phdr_info,
        _size: libc::size_t,
        data: *mut libc::c_void,
    ) -> libc::c_int {
        // SAFETY: the loader passes a valid record; data is `f` below.
        unsafe { (*(data as *mut F))(&*info) };
        0
    }
    // SAFETY: the callback only hands the record to `f`.
    unsafe { libc::dl_iterate_phdr(Some(each::<F>), &mut f as *mut F as *mut libc::c_void) };
}

/// The program headers of a loaded object.
///
/// # Safety
/// `info` comes from `dl_iterate_phdr`.
pub(crate) unsafe fn headers(info: &libc::dl_phdr_info) -> &[libc::Elf64_Phdr] {
    // SAFETY: the loader gives `dlpi_phnum` headers at `dlpi_phdr`.
    unsafe { std::slice::from_raw_parts(info.dlpi_phdr, info.dlpi_phnum as usize) }
}

/// # Safety
/// `info` comes from `dl_iterate_phdr`: its headers describe a mapped object.
unsafe fn object(info: &libc::dl_phdr_info, main: bool) -> Option<Object> {
    let bias = info.dlpi_addr;
    // SAFETY: forwarded from the caller.
    let headers = unsafe { headers(info) };
    let loads = headers.iter().filter(|h| h.p_type == libc::PT_LOAD);
    let lowest = loads.clone().min_by_key(|h| h.p_vaddr)?;
    let end = loads.map(|h| h.p_vaddr + h.p_memsz).max()?;
    let mut build_id = String::new();
    for h in headers.iter().filter(|h| h.p_type == libc::PT_NOTE) {
        let at = bias.wrapping_add(h.p_vaddr) as *const u8;
        // SAFETY: a PT_NOTE segment lies inside a loaded, readable segment.
        let notes = unsafe { std::slice::from_raw_parts(at, h.p_memsz as usize) };
        if let Some(id) = gnu_build_id(notes) {
            build_id = id;
            break;
        }
    }
    let path = if main {
        std::fs::read_link("/proc/self/exe")
            .ok()?
            .to_string_lossy()
            .into_owned()
    } else if info.dlpi_name.is_null() {
        return None;
    } else {
        // SAFETY: a NUL-terminated name owned by the loader.
        let name = unsafe { std::ffi::CStr::from_ptr(info.dlpi_name) };
        match name.to_string_lossy() {
            n if n.is_empty() => return None,
            n => n.into_owned(),
        }
    };
    let start = bias.wrapping_add(lowest.p_vaddr) & !(PAGE - 1);
    Some(Object {
        start,
        limit: (bias.wrapping_add(end) + PAGE - 1) & !(PAGE - 1),
        offset: lowest.p_offset & !(PAGE - 1),
        path,
        build_id,
        bias,
    })
}

/// The GNU build id (hex) in a run of ELF notes.
fn gnu_build_id(mut notes: &[u8]) -> Option<String> {
    let u32_at = |b: &[u8], i: usize| -> Option<usize> {
        Some(u32::from_ne_bytes(b.get(i..i + 4)?.try_into().ok()?) as usize)
    };
    let align4 = |n: usize| (n + 3) & !3;
    while notes.len() >= 12 {
        let namesz = u32_at(notes, 0)?;
        let descsz = u32_at(notes, 4)?;
        let ty = u32_at(notes, 8)?;
        let name = notes.get(12..12 + namesz)?;
        let desc_start = 12 + align4(namesz);
        let desc = notes.get(desc_start..desc_start + descsz)?;
        if ty == 3 && name == b"GNU\0" {
            return Some(desc.iter().map(|b| format!("{b:02x}")).collect());
        }
        notes = notes.get(desc_start + align4(descsz)..)?;
    }
    None
}
