//! The node graph behind the top, peek and tree reports, built the way
//! pprof's internal/graph does (after the driver's `aggregate` step).
//!
//! Frames are grouped into nodes by a [`NodeInfo`] key that depends on the
//! [`Granularity`]. A sample adds its value to the `cum` of every distinct
//! node on its stack, to the `flat` of its leaf frame's node, and to every
//! distinct caller→callee edge. A location holding inlined frames contributes
//! one frame per line, innermost first; edges into an inlined frame are
//! "inline" edges.
//!
//! The work is done with integer ids: each location is mapped to its node ids
//! once, and a sample's distinct nodes and edges are found with generation
//! stamps instead of per-sample sets.

use std::cmp::Ordering;
use std::collections::HashMap;

use super::{Granularity, Options};
use crate::model::{Line, Location, Profile};

/// What identifies a report node (pprof's `graph.NodeInfo`, after the
/// driver cleared what the granularity does not use).
#[derive(Clone, Debug, Default, PartialEq, Eq, Hash)]
pub struct NodeInfo {
    pub name: String,
    pub address: u64,
    pub file: String,
    pub start_line: i64,
    pub lineno: i64,
    pub objfile: String,
}

impl NodeInfo {
    /// The name shown in reports: address, function, `file:line` or file,
    /// falling back to `[binary]` or `<unknown>`.
    pub fn printable_name(&self) -> String {
        let mut parts: Vec<String> = Vec::with_capacity(3);
        if self.address != 0 {
            parts.push(format!("{:016x}", self.address));
        }
        if !self.name.is_empty() {
            parts.push(self.name.clone());
        }
        if self.lineno != 0 {
            parts.push(format!("{}:{}", self.file, self.lineno));
        } else if !self.file.is_empty() {
            parts.push(self.file.clone());
        } else if !self.name.is_empty() {
            // The function name says it all.
        } else if !self.objfile.is_empty() {
            parts.push(format!("[{}]", go_base(&self.objfile)));
        } else {
            parts.push("<unknown>".to_string());
        }
        parts.join(" ")
    }

    /// The struct as Go's `fmt.Sprint` prints it; pprof's last-resort
    /// tie-breaker between nodes.
    fn go_sprint(&self) -> String {
        format!(
            "{{{} {} {} {} {} {} {}}}",
            self.name, "", self.address, self.file, self.start_line, self.lineno, self.objfile
        )
    }
}

/// Every node a profile can produce at a granularity, and the nodes of each
/// location (one per line, innermost first).
pub struct NodeTable {
    pub infos: Vec<NodeInfo>,
    loc_start: Vec<u32>,
    loc_nodes: Vec<u32>,
}

impl NodeTable {
    pub fn new(p: &Profile, o: &Options) -> Self {
        let mut ids: HashMap<NodeInfo, u32> = HashMap::new();
        let mut infos = Vec::new();
        let mut loc_start = Vec::with_capacity(p.locations.len() + 1);
        let mut loc_nodes = Vec::with_capacity(p.locations.len());
        let mut files: Vec<Option<String>> = vec![None; p.functions.len()];
        loc_start.push(0);
        for loc in &p.locations {
            let (objfile, lines) = objfile_and_lines(p, loc);
            for line in lines {
                let info = node_info(
                    p,
                    o.granularity,
                    &o.source_path,
                    loc.address,
                    line,
                    objfile,
                    &mut files,
                );
                let next = infos.len() as u32;
                let id = *ids.entry(info).or_insert_with_key(|info| {
                    infos.push(info.clone());
                    next
                });
                loc_nodes.push(id);
            }
            loc_start.push(loc_nodes.len() as u32);
        }
        NodeTable {
            infos,
            loc_start,
            loc_nodes,
        }
    }

    pub fn len(&self) -> usize {
        self.infos.len()
    }

    pub fn is_empty(&self) -> bool {
        self.infos.is_empty()
    }

    /// The nodes of location `loc`, innermost frame first.
    pub(crate) fn nodes_of(&self, loc: u32) -> &[u32] {
        let loc = loc as usize;
        &self.loc_nodes[self.loc_start[loc] as usize..self.loc_start[loc + 1] as usize]
    }
}

/// What pprof reads of a location for reports: its mapping's file name
/// (empty without a mapping) and its lines, innermost first — one empty
/// line for a location without any.
pub(crate) fn objfile_and_lines<'a>(p: &'a Profile, loc: &'a Location) -> (&'a str, &'a [Line]) {
    const NO_LINE: &[Line] = &[Line {
        function: None,
        line: 0,
        column: 0,
    }];
    let objfile = loc
        .mapping
        .and_then(|m| p.mappings.get(m as usize))
        .map_or("", |m| p.str(m.filename));
    let lines = if loc.lines.is_empty() {
        NO_LINE
    } else {
        &loc.lines[..]
    };
    (objfile, lines)
}

/// The node key of one frame, with what the granularity drops cleared
/// (pprof's `NodeInfo`). `files` caches each function's cleaned file name.
pub(crate) fn node_info<D: AsRef<std::ffi::OsStr>>(
    p: &Profile,
    granularity: Granularity,
    source_path: &[D],
    address: u64,
    line: &Line,
    objfile: &str,
    files: &mut [Option<String>],
) -> NodeInfo {
    let address = if granularity == Granularity::Addresses {
        address
    } else {
        0
    };
    let Some((f, function)) = line
        .function
        .and_then(|f| Some((f as usize, p.functions.get(f as usize)?)))
    else {
        return NodeInfo {
            address,
            objfile: objfile.to_string(),
            ..NodeInfo::default()
        };
    };
    let keep_name = granularity != Granularity::Files;
    let keep_file = granularity != Granularity::Functions;
    let keep_line = matches!(granularity, Granularity::Lines | Granularity::Addresses);
    let mut info = NodeInfo {
        address,
        lineno: if keep_line { line.line } else { 0 },
        name: if keep_name {
            p.str(function.name).to_string()
        } else {
            String::new()
        },
        ..NodeInfo::default()
    };
    if keep_file {
        if let Some(slot) = files.get_mut(f) {
            info.file = slot
                .get_or_insert_with(|| {
                    let name = p.str(function.filename);
                    if name.is_empty() {
                        String::new()
                    } else {
                        go_clean(trim_path(name, source_path))
                    }
                })
                .clone();
        }
    }
    if info.name.is_empty() {
        info.objfile = objfile.to_string();
        info.start_line = function.start_line;
    }
    info
}

/// pprof's `trimPath` without a `-trim_path`: a path containing
/// `/<base name of a search dir>/` is cut after it; else the
/// `/proc/self/cwd/` prefixes are removed. The search directories may be
/// given as paths or strings.
pub(crate) fn trim_path<'a, D: AsRef<std::ffi::OsStr>>(
    path: &'a str,
    source_path: &[D],
) -> &'a str {
    for dir in source_path {
        let dir = std::path::Path::new(dir.as_ref()).to_string_lossy();
        let want = format!("/{}/", go_base(&dir));
        if let Some(found) = path.find(&want) {
            return &path[found + want.len()..];
        }
    }
    for prefix in ["/proc/self/cwd/./", "/proc/self/cwd/"] {
        if let Some(rest) = path.strip_prefix(prefix) {
            return rest;
        }
    }
    path
}

/// Go's `filepath.Base` for slash-separated paths.
pub(crate) fn go_base(path: &str) -> &str {
    if path.is_empty() {
        return ".";
    }
    let trimmed = path.trim_end_matches('/');
    if trimmed.is_empty() {
        return "/";
    }
    match trimmed.rfind('/') {
        Some(i) => &trimmed[i + 1..],
        None => trimmed,
    }
}

/// Go's `filepath.Clean` for slash-separated paths: the shortest lexically
/// equivalent path.
pub(crate) fn go_clean(path: &str) -> String {
    if path.is_empty() {
        return ".".to_string();
    }
    let rooted = path.starts_with('/');
    let mut parts: Vec<&str> = Vec::new();
    for part in path.split('/') {
        match part {
            "" | "." => {}
            ".." => {
                if parts.last().is_some_and(|&last| last != "..") {
                    parts.pop();
                } else if !rooted {
                    parts.push("..");
                }
            }
            _ => parts.push(part),
        }
    }
    let joined = parts.join("/");
    match (rooted, joined.is_empty()) {
        (true, _) => format!("/{joined}"),
        (false, true) => ".".to_string(),
        (false, false) => joined,
    }
}

/// Flat and cum values of every node of a [`NodeTable`], over all samples.
pub struct NodeValues {
    pub flat: Vec<i64>,
    pub cum: Vec<i64>,
}

impl NodeValues {
    /// Sums sample type `index`: each sample counts once in the cum of every
    /// distinct node on its stack and in the flat of its leaf frame's node.
    pub fn compute(p: &Profile, table: &NodeTable, index: usize) -> Self {
        let n = table.len();
        let mut flat = vec![0i64; n];
        let mut cum = vec![0i64; n];
        let mut stamp = vec![0u32; n];
        let mut generation = 0u32;
        // Most locations hold a single frame: resolve those once.
        let single: Vec<u32> = (0..table.loc_start.len() as u32 - 1)
            .map(|loc| match table.nodes_of(loc) {
                [node] => *node,
                _ => SEVERAL,
            })
            .collect();
        for s in p.samples.iter() {
            let w = s.values[index];
            if w == 0 || s.locations.is_empty() {
                continue;
            }
            generation = generation.wrapping_add(1);
            if generation == 0 {
                stamp.fill(0);
                generation = 1;
            }
            let mut add_cum = |node: u32| {
                let slot = &mut stamp[node as usize];
                if *slot != generation {
                    *slot = generation;
                    cum[node as usize] += w;
                }
            };
            for &loc in s.locations {
                match single[loc as usize] {
                    SEVERAL => {
                        for &node in table.nodes_of(loc) {
                            add_cum(node);
                        }
                    }
                    node => add_cum(node),
                }
            }
            let leaf = table.nodes_of(s.locations[0])[0];
            flat[leaf as usize] += w;
        }
        NodeValues { flat, cum }
    }
}

/// A caller→callee edge between two nodes of a [`Graph`] (indices into
/// [`Graph::nodes`]).
#[derive(Clone, Debug, PartialEq, Eq)]
pub struct Edge {
    pub src: usize,
    pub dest: usize,
    pub weight: i64,
    /// The edge jumps over nodes that were trimmed away.
    pub residual: bool,
    /// Every call it sums was inlined into the caller.
    pub inline: bool,
}

/// One node of a [`Graph`].
#[derive(Clone, Debug)]
pub struct Node {
    pub info: NodeInfo,
    /// [`NodeInfo::printable_name`], computed once.
    pub name: String,
    pub flat: i64,
    pub cum: i64,
    /// Indices into [`Graph::edges`] of the edges reaching this node.
    pub in_edges: Vec<usize>,
    /// Indices into [`Graph::edges`] of the edges leaving this node.
    pub out_edges: Vec<usize>,
}

impl Node {
    /// The `(inline)` / `(partial-inline)` mark of text reports: whether the
    /// calls reaching this node were inlined.
    pub fn inline_label(&self, edges: &[Edge]) -> &'static str {
        let inline = self.in_edges.iter().any(|&e| edges[e].inline);
        let not_inline = self.in_edges.iter().any(|&e| !edges[e].inline);
        match (inline, not_inline) {
            (true, true) => "(partial-inline)",
            (true, false) => "(inline)",
            _ => "",
        }
    }
}

/// How a report trims its graph (pprof's nodecount, nodefraction,
/// edgefraction and sort options).
#[derive(Clone, Copy, Debug, PartialEq)]
pub struct Trim {
    /// Keep at most this many nodes; 0 keeps all.
    pub node_count: usize,
    /// Drop nodes whose |cum| is below this fraction of the flat total.
    pub node_fraction: f64,
    /// Drop edges whose |weight| is below this fraction of the flat total.
    pub edge_fraction: f64,
    /// Order nodes by cum instead of flat.
    pub cum_sort: bool,
}

/// A trimmed, sorted graph, as pprof's `newTrimmedGraph` returns it.
#[derive(Clone, Debug)]
pub struct Graph {
    /// The nodes kept, in report order.
    pub nodes: Vec<Node>,
    pub edges: Vec<Edge>,
    /// Number of nodes before the node count limit.
    pub orig_count: usize,
    /// Number of nodes dropped by the node fraction.
    pub dropped_nodes: usize,
}

impl Graph {
    /// Builds the graph of sample type `o.sample_index`, trimmed by `trim`.
    pub fn build(p: &Profile, o: &Options, trim: &Trim) -> Graph {
        let table = NodeTable::new(p, o);
        let values = NodeValues::compute(p, &table, o.sample_index);
        Graph::from_values(p, &table, &values, o.sample_index, trim)
    }

    /// Trims and sorts the nodes of precomputed `values`, then gathers the
    /// edges between the nodes kept.
    pub fn from_values(
        p: &Profile,
        table: &NodeTable,
        values: &NodeValues,
        index: usize,
        trim: &Trim,
    ) -> Graph {
        let present: Vec<u32> = (0..table.len() as u32)
            .filter(|&n| values.cum[n as usize] != 0 || values.flat[n as usize] != 0)
            .collect();
        let flat_total: i64 = present.iter().map(|&n| values.flat[n as usize]).sum();
        let node_cutoff = (flat_total as f64 * trim.node_fraction) as i64;
        let node_cutoff = node_cutoff.abs();
        let edge_cutoff = ((flat_total as f64 * trim.edge_fraction) as i64).abs();

        let mut kept = present;
        let mut dropped_nodes = 0;
        if node_cutoff > 0 {
            let before = kept.len();
            kept.retain(|&n| values.cum[n as usize].abs() >= node_cutoff);
            dropped_nodes = before - kept.len();
        }
        let orig_count = kept.len();

        let mut nodes: Vec<Node> = kept
            .iter()
            .map(|&n| {
                let info = table.infos[n as usize].clone();
                Node {
                    name: info.printable_name(),
                    info,
                    flat: values.flat[n as usize],
                    cum: values.cum[n as usize],
                    in_edges: Vec::new(),
                    out_edges: Vec::new(),
                }
            })
            .collect();
        let mut order: Vec<usize> = (0..nodes.len()).collect();
        order.sort_by(|&a, &b| compare_nodes(&nodes[a], &nodes[b], trim.cum_sort));
        if trim.node_count > 0 && trim.node_count < order.len() {
            order.truncate(trim.node_count);
        }
        let mut slots: Vec<Option<Node>> = nodes.drain(..).map(Some).collect();
        let nodes: Vec<Node> = order
            .iter()
            .map(|&i| slots[i].take().expect("each node once"))
            .collect();
        let kept_ids: Vec<u32> = order.iter().map(|&i| kept[i]).collect();

        let mut graph = Graph {
            nodes,
            edges: Vec::new(),
            orig_count,
            dropped_nodes,
        };
        graph.collect_edges(p, table, index, &kept_ids, edge_cutoff);
        graph
    }

    /// Sums the edges between the kept nodes (`kept[i]` is the table id of
    /// `self.nodes[i]`), dropping those lighter than `cutoff`.
    fn collect_edges(
        &mut self,
        p: &Profile,
        table: &NodeTable,
        index: usize,
        kept: &[u32],
        cutoff: i64,
    ) {
        let mut position = vec![DROPPED; table.len()];
        for (i, &n) in kept.iter().enumerate() {
            position[n as usize] = i as u32;
        }
        // Most locations hold a single frame: resolve those once.
        let single: Vec<u32> = (0..p.locations.len() as u32)
            .map(|loc| match table.nodes_of(loc) {
                [node] => position[*node as usize],
                _ => SEVERAL,
            })
            .collect();
        let mut acc = EdgeAccumulator {
            lookup: EdgeLookup::new(kept.len()),
            edges: Vec::new(),
            stamp: Vec::new(),
            generation: 0,
            parent: DROPPED,
            residual: false,
        };
        for s in p.samples.iter() {
            let w = s.values[index];
            if w == 0 {
                continue;
            }
            acc.start_sample();
            for &loc in s.locations.iter().rev() {
                match single[loc as usize] {
                    SEVERAL => {
                        let frames = table.nodes_of(loc);
                        let outermost = frames.len() - 1;
                        for (ni, &node) in frames.iter().enumerate().rev() {
                            acc.frame(position[node as usize], ni != outermost, w);
                        }
                    }
                    n => acc.frame(n, false, w),
                }
            }
        }
        let mut edges = acc.edges;
        edges.retain(|e| e.weight.abs() >= cutoff);
        for (i, e) in edges.iter().enumerate() {
            self.nodes[e.src].out_edges.push(i);
            self.nodes[e.dest].in_edges.push(i);
        }
        self.edges = edges;
    }

    /// Sum of the flat values of the nodes kept.
    pub fn flat_sum(&self) -> i64 {
        self.nodes.iter().map(|n| n.flat).sum()
    }

    /// The edges of `edge_ids` in pprof's order: heaviest first, then by
    /// caller name, then by callee name.
    pub fn sorted_edges(&self, edge_ids: &[usize]) -> Vec<&Edge> {
        let mut list: Vec<&Edge> = edge_ids.iter().map(|&e| &self.edges[e]).collect();
        list.sort_by(|a, b| {
            if a.weight != b.weight {
                return b.weight.abs().cmp(&a.weight.abs());
            }
            self.nodes[a.src]
                .name
                .cmp(&self.nodes[b.src].name)
                .then_with(|| self.nodes[a.dest].name.cmp(&self.nodes[b.dest].name))
        });
        list
    }
}

/// pprof's FlatNameOrder / CumNameOrder: by |flat| (or |cum|) descending,
/// then name, then the other value, then the whole key.
fn compare_nodes(a: &Node, b: &Node, cum_sort: bool) -> Ordering {
    let (first_a, first_b, second_a, second_b) = if cum_sort {
        (a.cum, b.cum, a.flat, b.flat)
    } else {
        (a.flat, b.flat, a.cum, b.cum)
    };
    first_b
        .abs()
        .cmp(&first_a.abs())
        .then_with(|| a.name.cmp(&b.name))
        .then_with(|| second_b.abs().cmp(&second_a.abs()))
        .then_with(|| a.info.go_sprint().cmp(&b.info.go_sprint()))
}

/// Marks a frame whose node was trimmed away.
const DROPPED: u32 = u32::MAX;
/// Marks a location holding several (inlined) frames.
const SEVERAL: u32 = u32::MAX - 1;

/// The state of the edge pass: the edges so far, and where the current
/// sample's walk from root to leaf is.
struct EdgeAccumulator {
    lookup: EdgeLookup,
    edges: Vec<Edge>,
    /// Per edge, the last sample (generation) that counted it.
    stamp: Vec<u32>,
    generation: u32,
    /// The last kept frame of the walk ([`DROPPED`] before the first).
    parent: u32,
    /// Frames were dropped since `parent`.
    residual: bool,
}

impl EdgeAccumulator {
    fn start_sample(&mut self) {
        self.generation = self.generation.wrapping_add(1);
        if self.generation == 0 {
            self.stamp.fill(0);
            self.generation = 1;
        }
        self.parent = DROPPED;
        self.residual = false;
    }

    /// The next frame towards the leaf: node position `n` (or
    /// [`DROPPED`]), reached by an inlined call or not.
    #[inline(always)]
    fn frame(&mut self, n: u32, inline: bool, w: i64) {
        if n == DROPPED {
            self.residual = true;
            return;
        }
        let parent = self.parent;
        if parent != DROPPED && n != parent {
            let next = self.edges.len() as u32;
            let id = self.lookup.get_or_insert(parent, n, next) as usize;
            if id == self.edges.len() {
                self.edges.push(Edge {
                    src: parent as usize,
                    dest: n as usize,
                    weight: w,
                    residual: self.residual,
                    inline,
                });
                self.stamp.push(self.generation);
            } else if self.stamp[id] != self.generation {
                self.stamp[id] = self.generation;
                let e = &mut self.edges[id];
                e.weight += w;
                e.residual |= self.residual;
                e.inline &= inline;
            }
        }
        self.parent = n;
        self.residual = false;
    }
}

/// Edge ids by (src, dest) node positions: a dense matrix when the graph
/// is small (the usual case once trimmed), else a hash table.
enum EdgeLookup {
    Dense { width: usize, ids: Vec<u32> },
    Sparse(EdgeIndex),
}

impl EdgeLookup {
    /// Largest node count for which the dense matrix (4 bytes per pair) is
    /// used.
    const DENSE_LIMIT: usize = 1024;
    const ABSENT: u32 = u32::MAX;

    fn new(nodes: usize) -> Self {
        if nodes <= Self::DENSE_LIMIT {
            EdgeLookup::Dense {
                width: nodes,
                ids: vec![Self::ABSENT; nodes * nodes],
            }
        } else {
            EdgeLookup::Sparse(EdgeIndex::with_capacity(nodes * 4))
        }
    }

    /// The id of edge `src`→`dest`, taking `value` when it has none yet.
    fn get_or_insert(&mut self, src: u32, dest: u32, value: u32) -> u32 {
        match self {
            EdgeLookup::Dense { width, ids } => {
                let slot = &mut ids[src as usize * *width + dest as usize];
                if *slot == Self::ABSENT {
                    *slot = value;
                }
                *slot
            }
            EdgeLookup::Sparse(index) => {
                index.get_or_insert((u64::from(src) << 32) | u64::from(dest), value)
            }
        }
    }
}

/// An open-addressing map from a (src, dest) pair packed in a `u64` to an
/// edge id; far cheaper per sample frame than a general-purpose map.
struct EdgeIndex {
    keys: Vec<u64>,
    values: Vec<u32>,
    len: usize,
}

impl EdgeIndex {
    const EMPTY: u64 = u64::MAX;

    fn with_capacity(n: usize) -> Self {
        let size = (n * 2).next_power_of_two().max(64);
        EdgeIndex {
            keys: vec![Self::EMPTY; size],
            values: vec![0; size],
            len: 0,
        }
    }

    fn slot(&self, key: u64) -> usize {
        let h = key.wrapping_mul(0x9E37_79B9_7F4A_7C15);
        (h >> 32) as usize & (self.keys.len() - 1)
    }

    /// The value of `key`, inserting `value` when absent.
    fn get_or_insert(&mut self, key: u64, value: u32) -> u32 {
        let mask = self.keys.len() - 1;
        let mut i = self.slot(key);
        loop {
            let k = self.keys[i];
            if k == key {
                return self.values[i];
            }
            if k == Self::EMPTY {
                self.keys[i] = key;
                self.values[i] = value;
                self.len += 1;
                if self.len * 2 > self.keys.len() {
                    self.grow();
                }
                return value;
            }
            i = (i + 1) & mask;
        }
    }

    fn grow(&mut self) {
        let size = self.keys.len() * 2;
        let old_keys = std::mem::replace(&mut self.keys, vec![Self::EMPTY; size]);
        let old_values = std::mem::replace(&mut self.values, vec![0; size]);
        let mask = self.keys.len() - 1;
        for (k, v) in old_keys.into_iter().zip(old_values) {
            if k == Self::EMPTY {
                continue;
            }
            let mut i = self.slot(k);
            while self.keys[i] != Self::EMPTY {
                i = (i + 1) & mask;
            }
            self.keys[i] = k;
            self.values[i] = v;
        }
    }
}

#[cfg(test)]
mod tests {
    use super::*;
    use crate::model::{Function, Location};

    /// A profile with functions `names` (function i has file `f{i}.go`) and
    /// one location per function (line 10·i), plus the given samples (stacks
    /// of location indices, leaf first).
    fn profile(names: &[&str], samples: &[(&[u32], i64)]) -> Profile {
        let mut p = Profile::with_sample_types(&[("space", "bytes")]);
        for (i, name) in names.iter().enumerate() {
            let f = Function {
                name: p.strings.intern(name),
                system_name: p.strings.intern(name),
                filename: p.strings.intern(&format!("f{i}.go")),
                start_line: 0,
            };
            p.functions.push(f);
            p.locations.push(Location {
                address: 0x1000 + i as u64,
                lines: vec![Line {
                    function: Some(i as u32),
                    line: 10 * i as i64,
                    column: 0,
                }],
                ..Location::default()
            });
        }
        for (stack, v) in samples {
            p.samples.push(stack, &[*v], &[]);
        }
        p
    }

    fn no_trim() -> Trim {
        Trim {
            node_count: 0,
            node_fraction: 0.0,
            edge_fraction: 0.0,
            cum_sort: false,
        }
    }

    #[test]
    fn flat_cum_and_recursion() {
        // main -> a -> b -> a (recursion), and main -> b.
        let p = profile(
            &["main", "a", "b"],
            &[(&[1, 2, 1, 0], 10), (&[2, 0], 5), (&[0], 1)],
        );
        let g = Graph::build(&p, &Options::default(), &no_trim());
        let by_name = |n: &str| g.nodes.iter().find(|x| x.name == n).unwrap();
        assert_eq!((by_name("a").flat, by_name("a").cum), (10, 10));
        assert_eq!((by_name("b").flat, by_name("b").cum), (5, 15));
        assert_eq!((by_name("main").flat, by_name("main").cum), (1, 16));
        let names: Vec<&str> = g.nodes.iter().map(|n| n.name.as_str()).collect();
        assert_eq!(names, ["a", "b", "main"]);
        // Edges a->b and b->a each count once per sample.
        let weight = |s: &str, d: &str| {
            g.edges
                .iter()
                .find(|e| g.nodes[e.src].name == s && g.nodes[e.dest].name == d)
                .map(|e| e.weight)
        };
        assert_eq!(weight("main", "a"), Some(10));
        assert_eq!(weight("a", "b"), Some(10));
        assert_eq!(weight("b", "a"), Some(10));
        assert_eq!(weight("main", "b"), Some(5));
    }

    #[test]
    fn trimming_makes_residual_edges() {
        let p = profile(
            &["main", "mid", "leaf", "tiny"],
            &[(&[2, 1, 0], 100), (&[3, 0], 1)],
        );
        let trim = Trim {
            node_fraction: 0.05,
            ..no_trim()
        };
        let g = Graph::build(&p, &Options::default(), &trim);
        assert_eq!(g.dropped_nodes, 1);
        assert_eq!(g.orig_count, 3);
        let trim = Trim {
            node_count: 2,
            cum_sort: true,
            ..no_trim()
        };
        let g = Graph::build(&p, &Options::default(), &trim);
        let names: Vec<&str> = g.nodes.iter().map(|n| n.name.as_str()).collect();
        assert_eq!(names, ["main", "leaf"]);
        assert_eq!(g.edges.len(), 1);
        assert!(g.edges[0].residual);
        assert_eq!(g.edges[0].weight, 100);
    }

    #[test]
    fn granularities_and_names() {
        let p = profile(&["main", "pkg/x.F"], &[(&[1, 0], 3)]);
        let mut o = Options {
            granularity: Granularity::Lines,
            ..Options::default()
        };
        let names = |o: &Options| -> Vec<String> {
            let mut v: Vec<String> = Graph::build(&p, o, &no_trim())
                .nodes
                .into_iter()
                .map(|n| n.name)
                .collect();
            v.sort();
            v
        };
        assert_eq!(names(&o), ["main f0.go", "pkg/x.F f1.go:10"]);
        o.granularity = Granularity::Files;
        assert_eq!(names(&o), ["f0.go", "f1.go"]);
        o.granularity = Granularity::Addresses;
        assert_eq!(
            names(&o),
            [
                "0000000000001000 main f0.go",
                "0000000000001001 pkg/x.F f1.go:10"
            ]
        );
    }

    #[test]
    fn paths_are_cleaned_like_go() {
        assert_eq!(go_clean("a//b/./c/../d"), "a/b/d");
        assert_eq!(go_clean("/../x"), "/x");
        assert_eq!(go_clean("../x/.."), "..");
        assert_eq!(go_clean("./"), ".");
        assert_eq!(go_base("/a/b/"), "b");
        assert_eq!(trim_path::<String>("/proc/self/cwd/./x.go", &[]), "x.go");
    }
}
