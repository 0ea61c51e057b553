//! The import graph of `src/`: no circle of files beyond a file and its own sub-files (a
//! module and its parts use each other freely; those edges are left out). E.g. `state` →
//! `settings` → `value` → `state` tied half of `src/` into one circle, and `chat/hub` ↔
//! `chat/writer` made the chat adapter one knot. Read from the sources: every `crate::…`,
//! `super::…` and `self::…` path and `use` of a child module outside comments and test
//! modules, resolved to the file that defines what it names (through `pub use` re-exports).

use std::collections::{BTreeMap, BTreeSet};
use std::path::Path;

type Module = Vec<String>;

/// Every source file of `src/` by its module path (`src/a/b.rs` and `src/a/b/mod.rs`: a, b).
fn modules(dir: &Path, at: &Module, out: &mut BTreeMap<Module, String>) {
    for entry in std::fs::read_dir(dir).unwrap() {
        let path = entry.unwrap().path();
        let name = path.file_stem().unwrap().to_string_lossy().to_string();
        if path.is_dir() {
            let mut sub = at.clone();
            sub.push(name);
            modules(&path, &sub, out);
        } else if path.extension().is_some_and(|e| e == "rs") {
            let mut m = at.clone();
            if !["mod", "lib", "main"].contains(&name.as_str()) {
                m.push(name);
            }
            out.insert(m, std::fs::read_to_string(&path).unwrap());
        }
    }
}

/// The source without its test modules (at the end of a file, by this house's rule) and
/// without `//` comments.
fn code(source: &str) -> String {
    let source = source.split("#[cfg(test)]").next().unwrap();
    source
        .lines()
        .map(|l| l.split_once("//").map_or(l, |(code, _)| code))
        .collect::<Vec<_>>()
        .join("\n")
}

/// The identifier at the start of `s` and its length.
fn ident(s: &str) -> &str {
    let end = s
        .find(|c: char| !(c.is_ascii_alphanumeric() || c == '_'))
        .unwrap_or(s.len());
    &s[..end]
}

/// Every path `s` names from its start: `a::b`, or each path of a group `a::{b, c::{d}}`.
fn paths(s: &str, prefix: Module, out: &mut Vec<Module>) {
    let mut path = prefix;
    let mut rest = s;
    loop {
        let name = ident(rest);
        if name.is_empty() {
            break;
        }
        path.push(name.to_string());
        rest = &rest[name.len()..];
        match rest.strip_prefix("::") {
            Some(r) => rest = r,
            None => break,
        }
        if let Some(group) = rest.strip_prefix('{') {
            let (mut depth, mut start) = (0, 0);
            for (i, c) in group.char_indices() {
                match c {
                    '{' => depth += 1,
                    '}' if depth == 0 => {
                        paths(group[start..i].trim(), path.clone(), out);
                        break;
                    }
                    '}' => depth -= 1,
                    ',' if depth == 0 => {
                        paths(group[start..i].trim(), path.clone(), out);
                        start = i + 1;
                    }
                    _ => {}
                }
            }
            return;
        }
    }
    out.push(path);
}

/// The start of a path at `s` made absolute from module `me`: `crate::`, `super::`, `self::`,
/// or (in a `use`, `in_use`) a child module's name; None for anything else (std, a crate).
fn absolute<'a>(me: &Module, s: &'a str, in_use: Option<&Children>) -> Option<(Module, &'a str)> {
    if let Some(r) = s.strip_prefix("crate::") {
        return Some((Vec::new(), r));
    }
    if let Some(r) = s.strip_prefix("self::") {
        return Some((me.clone(), r));
    }
    if s.starts_with("super::") {
        let (mut base, mut rest) = (me.clone(), s);
        while let Some(r) = rest.strip_prefix("super::") {
            base.pop();
            rest = r;
        }
        return Some((base, rest));
    }
    in_use
        .filter(|c| c.contains(ident(s)))
        .map(|_| (me.clone(), s))
}

type Children = BTreeSet<String>;

/// The text of each `use` statement of `code` after `use ` (to its `;`), and whether it is
/// `pub` (a re-export).
fn uses(code: &str) -> Vec<(bool, &str)> {
    let mut out = Vec::new();
    for (i, _) in code.match_indices("use ") {
        let before = code[..i].trim_end_matches(' ');
        let at_start = before.is_empty() || before.ends_with(['\n', ';', '{', '}']);
        let public = before.ends_with("pub") || before.ends_with(')');
        if at_start || public {
            let body = &code[i + 4..];
            out.push((public, &body[..body.find(';').unwrap_or(body.len())]));
        }
    }
    out
}

/// The paths `me`'s code names: every `crate::…`, `super::…` and `self::…` path, and each
/// `use` of a child module by its own name.
fn named(me: &Module, code: &str, children: &Children) -> Vec<Module> {
    let mut out = Vec::new();
    for (_, u) in uses(code) {
        if let Some((base, rest)) = absolute(me, u.trim(), Some(children)) {
            if base == *me && !u.trim().starts_with("self::") {
                paths(rest, base, &mut out);
            }
        }
    }
    let starts = ["crate::", "super::", "self::"];
    for (i, _) in starts.iter().flat_map(|s| code.match_indices(s)) {
        if i > 0 && ident(&code[i - 1..]).len() > 1 {
            continue; // part of a longer identifier
        }
        if let Some((base, rest)) = absolute(me, &code[i..], None) {
            paths(rest, base, &mut out);
        }
    }
    out
}

/// What `me` re-exports (`pub use`): name → the path it stands for.
fn reexports(me: &Module, code: &str, children: &Children) -> BTreeMap<String, Module> {
    let mut out = BTreeMap::new();
    for (_, u) in uses(code).into_iter().filter(|(public, _)| *public) {
        let mut found = Vec::new();
        if let Some((base, rest)) = absolute(me, u.trim(), Some(children)) {
            paths(rest, base, &mut found);
        }
        for path in found {
            if let Some(name) = path.last() {
                out.insert(name.clone(), path.clone());
            }
        }
    }
    out
}

/// Tarjan's strongly connected components of `graph`.
fn circles(graph: &BTreeMap<Module, BTreeSet<Module>>) -> Vec<Vec<Module>> {
    struct Walk<'a> {
        graph: &'a BTreeMap<Module, BTreeSet<Module>>,
        index: BTreeMap<&'a Module, (usize, usize)>,
        stack: Vec<&'a Module>,
        found: Vec<Vec<Module>>,
    }
    fn visit<'a>(w: &mut Walk<'a>, v: &'a Module) {
        let n = w.index.len();
        w.index.insert(v, (n, n));
        w.stack.push(v);
        for u in &w.graph[v] {
            let low = match w.index.get(u) {
                None => {
                    visit(w, u);
                    w.index[u].1
                }
                Some(&(i, _)) if w.stack.contains(&u) => i,
                Some(_) => continue,
            };
            let e = w.index.get_mut(v).unwrap();
            e.1 = e.1.min(low);
        }
        if w.index[v].0 == w.index[v].1 {
            let at = w.stack.iter().position(|m| *m == v).unwrap();
            let scc: Vec<Module> = w.stack.drain(at..).cloned().collect();
            w.found.push(scc);
        }
    }
    let mut w = Walk {
        graph,
        index: BTreeMap::new(),
        stack: Vec::new(),
        found: Vec::new(),
    };
    for v in graph.keys() {
        if !w.index.contains_key(v) {
            visit(&mut w, v);
        }
    }
    w.found.into_iter().filter(|c| c.len() > 1).collect()
}

/// Every source file of `src/` by its module path, with its text.
fn sources() -> BTreeMap<Module, String> {
    let mut files = BTreeMap::new();
    let src = Path::new(env!("CARGO_MANIFEST_DIR")).join("src");
    modules(&src, &Vec::new(), &mut files);
    files
}

/// The names of `me`'s sub-modules.
fn children(files: &BTreeMap<Module, String>, me: &Module) -> Children {
    let sub = files
        .keys()
        .filter(|m| m.len() == me.len() + 1 && m.starts_with(me));
    sub.map(|m| m[me.len()].clone()).collect()
}

/// The import graph of `src/`: file → the files it uses, a file's own sub-files and parent
/// left out.
fn graph() -> BTreeMap<Module, BTreeSet<Module>> {
    let files = sources();
    let children = |me: &Module| children(&files, me);
    let exported: BTreeMap<Module, BTreeMap<String, Module>> = files
        .iter()
        .map(|(m, s)| (m.clone(), reexports(m, &code(s), &children(m))))
        .collect();
    // The file defining what `path` names: the file of its longest module prefix, or, where
    // that file re-exports the next name, the file of what it re-exports.
    let file_of = |path: &Module| -> Option<Module> {
        let mut path = path.clone();
        for _ in 0..8 {
            let k = (0..=path.len())
                .rev()
                .find(|k| files.contains_key(&path[..*k]))?;
            let module = path[..k].to_vec();
            match path.get(k).and_then(|n| exported[&module].get(n)) {
                Some(target) if *target != path[..=k] => {
                    path = [target.clone(), path[k + 1..].to_vec()].concat();
                }
                _ => return Some(module),
            }
        }
        None
    };
    let mut graph: BTreeMap<Module, BTreeSet<Module>> = BTreeMap::new();
    for (me, source) in &files {
        let uses = named(me, &code(source), &children(me));
        // A file and its own sub-files (a module and its parts) may use each other freely:
        // those edges are left out.
        let family = |t: &Module| t.starts_with(me) || me.starts_with(t);
        let targets = uses.iter().filter_map(file_of).filter(|t| !family(t));
        graph.insert(me.clone(), targets.collect());
    }
    graph
}

#[test]
fn no_import_circle_beyond_a_file_and_its_own_sub_files() {
    let graph = graph();
    assert!(
        graph[&vec!["state".to_string()]].contains(&vec!["settings".to_string()]),
        "the reader finds `state` using `settings`: {:?}",
        graph[&vec!["state".to_string()]]
    );
    // Each circle, as its edges.
    let bad: Vec<Vec<String>> = circles(&graph)
        .into_iter()
        .map(|c| {
            let edges = c.iter().flat_map(|a| {
                let inside = graph[a].iter().filter(|b| c.contains(b));
                inside.map(move |b| format!("{} -> {}", a.join("::"), b.join("::")))
            });
            edges.collect()
        })
        .collect();
    assert!(bad.is_empty(), "import circles: {bad:#?}");
}

/// Adapters plug into the core, never the other way: outside `src/channels/`, only the
/// application's wiring (`app.rs`) names a channel. Conversations, routing and agents read
/// what a channel registered (`conversations::outbound`) or a table of their own.
#[test]
fn only_the_wiring_imports_the_channels() {
    let files = sources();
    let mut reaching = Vec::new();
    for (me, source) in &files {
        let paths = named(me, &code(source), &children(&files, me));
        for p in paths
            .iter()
            .filter(|p| p.first().is_some_and(|d| d == "channels"))
        {
            reaching.push((me.join("::"), p.join("::")));
        }
    }
    let core = |(m, _): &&(String, String)| !m.starts_with("channels") && m != "app";
    let wrong: Vec<_> = reaching.iter().filter(core).collect();
    assert!(
        wrong.is_empty(),
        "the core reaches into channels: {wrong:#?}"
    );
    assert!(
        reaching.iter().any(|(m, _)| m == "app"),
        "the reader sees the wiring use the channels: {reaching:?}"
    );
}
