//! The call tree behind flame graphs: every distinct path from the root of
//! the stacks to a frame, with the value of the samples through it.
//!
//! Frames are named as in `top` (the [`NodeTable`] of the granularity), and
//! paths are keyed by name, so two profiles' trees line up for a
//! differential flame graph. The tree is aggregated here, once, so renderers
//! (inferno's SVG, the HTML report, the web UI) only see distinct paths —
//! never samples.

use std::collections::HashMap;

use rustc_hash::FxHashMap;

use super::graph::NodeTable;
use super::Options;
use crate::model::Profile;

/// A call tree in pre-order.
#[derive(Clone, Debug, Default, PartialEq)]
pub struct FlameTree {
    /// Frame names; `nodes[i].name` indexes them.
    pub names: Vec<String>,
    /// Node 0 is the root (`root`, depth 0); each node's subtree follows
    /// it, children sorted by name.
    pub nodes: Vec<FlameNode>,
}

#[derive(Clone, Copy, Debug, PartialEq, Eq)]
pub struct FlameNode {
    pub name: u32,
    pub depth: u32,
    /// Sum of the values of the samples whose stack runs through this path.
    pub value: i64,
    /// The same in the base profile of a differential tree (else 0).
    pub base: i64,
}

/// The tree while samples are added: nodes in creation order.
struct Builder {
    names: Vec<String>,
    name_ids: HashMap<String, u32>,
    parent: Vec<u32>,
    name: Vec<u32>,
    value: Vec<i64>,
    base: Vec<i64>,
    /// (parent node, name) → child node.
    children: FxHashMap<(u32, u32), u32>,
}

impl Builder {
    fn new() -> Self {
        let mut b = Builder {
            names: Vec::new(),
            name_ids: HashMap::new(),
            parent: vec![0],
            name: vec![0],
            value: vec![0],
            base: vec![0],
            children: FxHashMap::default(),
        };
        b.intern("root".to_string());
        b
    }

    fn intern(&mut self, name: String) -> u32 {
        let next = self.names.len() as u32;
        *self.name_ids.entry(name).or_insert_with_key(|n| {
            self.names.push(n.clone());
            next
        })
    }

    fn child(&mut self, parent: u32, name: u32) -> u32 {
        let next = self.parent.len() as u32;
        let id = *self.children.entry((parent, name)).or_insert(next);
        if id == next {
            self.parent.push(parent);
            self.name.push(name);
            self.value.push(0);
            self.base.push(0);
        }
        id
    }

    /// Adds `p`'s samples (sample type `o.sample_index`) to `value`, or to
    /// `base` when `into_base`.
    fn add(&mut self, p: &Profile, o: &Options, into_base: bool) {
        let table = NodeTable::new(p, o);
        let node_names: Vec<u32> = table
            .infos
            .iter()
            .map(|info| self.intern(info.printable_name()))
            .collect();
        let mut path: Vec<u32> = Vec::new();
        for s in p.samples.iter() {
            let w = s.values[o.sample_index];
            if w == 0 {
                continue;
            }
            // Root first: locations are leaf first, a location's frames
            // innermost first.
            path.clear();
            for &loc in s.locations.iter().rev() {
                for &node in table.nodes_of(loc).iter().rev() {
                    path.push(node_names[node as usize]);
                }
            }
            let mut cur = 0u32;
            self.bump(cur, w, into_base);
            for &name in &path {
                cur = self.child(cur, name);
                self.bump(cur, w, into_base);
            }
        }
    }

    fn bump(&mut self, node: u32, w: i64, into_base: bool) {
        let slot = if into_base {
            &mut self.base[node as usize]
        } else {
            &mut self.value[node as usize]
        };
        *slot += w;
    }

    /// Lays the nodes out in pre-order, children by name.
    fn finish(self) -> FlameTree {
        let n = self.parent.len();
        // Children of each node, grouped by parent (counting sort).
        let mut start = vec![0u32; n + 1];
        for &p in &self.parent[1..] {
            start[p as usize + 1] += 1;
        }
        for i in 0..n {
            start[i + 1] += start[i];
        }
        let mut fill = start.clone();
        let mut kids = vec![0u32; n.saturating_sub(1)];
        for (id, &p) in self.parent.iter().enumerate().skip(1) {
            kids[fill[p as usize] as usize] = id as u32;
            fill[p as usize] += 1;
        }
        let names = &self.names;
        let name = &self.name;
        for p in 0..n {
            let group = &mut kids[start[p] as usize..start[p + 1] as usize];
            group.sort_unstable_by(|&a, &b| {
                names[name[a as usize] as usize].cmp(&names[name[b as usize] as usize])
            });
        }
        let mut nodes = Vec::with_capacity(n);
        let mut stack: Vec<(u32, u32)> = vec![(0, 0)];
        while let Some((id, depth)) = stack.pop() {
            let i = id as usize;
            nodes.push(FlameNode {
                name: self.name[i],
                depth,
                value: self.value[i],
                base: self.base[i],
            });
            let group = &kids[start[i] as usize..start[i + 1] as usize];
            stack.extend(group.iter().rev().map(|&k| (k, depth + 1)));
        }
        FlameTree {
            names: self.names,
            nodes,
        }
    }
}

impl FlameTree {
    /// The tree of `p`'s sample type `o.sample_index`, frames named at
    /// `o.granularity`.
    pub fn build(p: &Profile, o: &Options) -> FlameTree {
        let mut b = Builder::new();
        b.add(p, o, false);
        b.finish()
    }

    /// A differential tree: `value` from `p`, `base` from `base` (same
    /// sample type index and granularity).
    pub fn build_diff(p: &Profile, base: &Profile, o: &Options) -> FlameTree {
        let mut b = Builder::new();
        b.add(p, o, false);
        b.add(base, o, true);
        b.finish()
    }

    /// The root's value (the total of the samples in the tree).
    pub fn total(&self) -> i64 {
        self.nodes.first().map_or(0, |n| n.value)
    }

    /// The subtree of node `i` ends before this index.
    fn subtree_end(&self, i: usize) -> usize {
        let depth = self.nodes[i].depth;
        (i + 1..self.nodes.len())
            .find(|&j| self.nodes[j].depth <= depth)
            .unwrap_or(self.nodes.len())
    }

    /// The value of node `i` not passed on to its children (its `flat`).
    pub fn self_value(&self, i: usize) -> i64 {
        let depth = self.nodes[i].depth;
        let children: i64 = self.nodes[i + 1..]
            .iter()
            .take_while(|n| n.depth > depth)
            .filter(|n| n.depth == depth + 1)
            .map(|n| n.value)
            .sum();
        self.nodes[i].value - children
    }

    /// Self value and self base of every node, in one pass.
    fn self_values(&self) -> Vec<(i64, i64)> {
        let mut out: Vec<(i64, i64)> = self.nodes.iter().map(|n| (n.value, n.base)).collect();
        // The last node seen at each depth is the parent of the next
        // node one level deeper.
        let mut last_at: Vec<usize> = Vec::new();
        for (i, n) in self.nodes.iter().enumerate() {
            let d = n.depth as usize;
            last_at.truncate(d);
            if let Some(&parent) = last_at.last() {
                out[parent].0 -= n.value;
                out[parent].1 -= n.base;
            }
            last_at.push(i);
        }
        out
    }

    /// The tree without the subtrees whose value and base are both under
    /// `min_fraction` of the root's (the larger of the two): the frames a
    /// picture could not show anyway.
    pub fn pruned(&self, min_fraction: f64) -> FlameTree {
        let Some(root) = self.nodes.first() else {
            return self.clone();
        };
        let threshold = (root.value.max(root.base) as f64 * min_fraction).max(f64::MIN_POSITIVE);
        let mut nodes = Vec::with_capacity(self.nodes.len());
        let mut i = 0;
        while i < self.nodes.len() {
            let n = self.nodes[i];
            if i > 0 && (n.value.max(n.base) as f64) < threshold {
                i = self.subtree_end(i);
                continue;
            }
            nodes.push(n);
            i += 1;
        }
        // Keep only the names still used, in their old order.
        let mut remap = vec![u32::MAX; self.names.len()];
        let mut names = Vec::new();
        for n in &mut nodes {
            let slot = &mut remap[n.name as usize];
            if *slot == u32::MAX {
                *slot = names.len() as u32;
                names.push(self.names[n.name as usize].clone());
            }
            n.name = *slot;
        }
        FlameTree { names, nodes }
    }

    /// Brendan Gregg's folded stacks, one line per path with a self value:
    /// `a;b;c 42`, or `a;b;c BASE NEW` for a differential tree (inferno's
    /// differential input). The root is left out. `;` inside a name (Rust
    /// array types, `[u8; 4]`) would split the frame, so it becomes `,`.
    pub fn folded(&self, differential: bool) -> String {
        let mut out = String::new();
        let mut path: Vec<String> = Vec::new();
        let selfs = self.self_values();
        for (i, n) in self.nodes.iter().enumerate().skip(1) {
            path.truncate(n.depth as usize - 1);
            path.push(self.names[n.name as usize].replace(';', ","));
            let (value, base) = selfs[i];
            let (value, base) = (value.max(0), base.max(0));
            if differential {
                if value != 0 || base != 0 {
                    out.push_str(&format!("{} {base} {value}\n", path.join(";")));
                }
            } else if value != 0 {
                out.push_str(&format!("{} {value}\n", path.join(";")));
            }
        }
        out
    }
}

#[cfg(test)]
mod tests {
    use super::*;
    use crate::model::{Function, Line, Location};

    /// A profile with one sample type: each stack is function names, leaf
    /// first; one location per distinct function.
    fn profile(stacks: &[(&[&str], i64)]) -> Profile {
        let mut p = Profile::with_sample_types(&[("space", "bytes")]);
        let mut ids: HashMap<&str, u32> = HashMap::new();
        for (stack, v) in stacks {
            let mut locs = Vec::new();
            for name in stack.iter() {
                let id = *ids.entry(name).or_insert_with(|| {
                    let f = Function {
                        name: p.strings.intern(name),
                        system_name: p.strings.intern(name),
                        filename: p.strings.intern("f.rs"),
                        start_line: 0,
                    };
                    p.functions.push(f);
                    p.locations.push(Location {
                        address: 0x1000 + p.locations.len() as u64,
                        lines: vec![Line {
                            function: Some(p.functions.len() as u32 - 1),
                            line: 1,
                            column: 0,
                        }],
                        ..Location::default()
                    });
                    p.locations.len() as u32 - 1
                });
                locs.push(id);
            }
            p.samples.push(&locs, &[*v], &[]);
        }
        p
    }

    #[test]
    fn values_sum_along_paths() {
        // main→a→x 10, main→a→y 5, main→b 3, main→a 2 (a is the leaf)
        let p = profile(&[
            (&["x", "a", "main"], 10),
            (&["y", "a", "main"], 5),
            (&["b", "main"], 3),
            (&["a", "main"], 2),
        ]);
        let t = FlameTree::build(&p, &Options::default());
        let named: Vec<(String, u32, i64)> = t
            .nodes
            .iter()
            .map(|n| (t.names[n.name as usize].clone(), n.depth, n.value))
            .collect();
        let want: Vec<(String, u32, i64)> = [
            ("root", 0, 20),
            ("main", 1, 20),
            ("a", 2, 17),
            ("x", 3, 10),
            ("y", 3, 5),
            ("b", 2, 3),
        ]
        .iter()
        .map(|&(n, d, v)| (n.to_string(), d, v))
        .collect();
        assert_eq!(named, want);
        // a: 17 through it, 15 passed to x and y.
        assert_eq!(t.self_value(2), 2);
        assert_eq!(
            t.folded(false),
            "main;a 2\nmain;a;x 10\nmain;a;y 5\nmain;b 3\n"
        );
    }

    #[test]
    fn pruning_drops_small_subtrees_whole() {
        let p = profile(&[(&["x", "a", "main"], 990), (&["z", "b", "main"], 10)]);
        let t = FlameTree::build(&p, &Options::default()).pruned(0.02);
        let names: Vec<&str> = t
            .nodes
            .iter()
            .map(|n| t.names[n.name as usize].as_str())
            .collect();
        assert_eq!(names, ["root", "main", "a", "x"]);
        assert_eq!(t.names.len(), 4, "unused names dropped");
        assert_eq!(t.total(), 1000, "the root keeps the whole total");
    }

    #[test]
    fn differential_trees_line_up_by_name() {
        let base = profile(&[(&["x", "main"], 4), (&["gone", "main"], 6)]);
        let new = profile(&[(&["x", "main"], 9), (&["fresh", "main"], 1)]);
        let t = FlameTree::build_diff(&new, &base, &Options::default());
        assert_eq!(
            t.folded(true),
            "main;fresh 0 1\nmain;gone 6 0\nmain;x 4 9\n"
        );
        assert_eq!((t.nodes[0].value, t.nodes[0].base), (10, 10));
    }

    #[test]
    fn semicolons_in_names_do_not_split_frames() {
        let p = profile(&[(&["<[u8; 4] as Foo>::bar", "main"], 7)]);
        let t = FlameTree::build(&p, &Options::default());
        assert_eq!(t.folded(false), "main;<[u8, 4] as Foo>::bar 7\n");
    }
}
