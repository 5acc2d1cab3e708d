//! Path resolution as QEMU's `object_resolve_path_type` does it.
//!
//! A path with a leading `/` is absolute; empty components are skipped, and a component may
//! name a child or a link (which is followed). Any other path is partial: it names the object
//! reached by following it from any object in the tree, and must match exactly one; the
//! search descends through children only.

use super::object::PropKind;
use super::tree::{ObjectId, ObjectTree};
use super::types;

/// Links may point at objects reached through further links; QEMU has no cycle check, this
/// bound stands in for one.
const MAX_LINK_DEPTH: usize = 16;

/// The outcome of resolving a path.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub enum Resolved {
    Found(ObjectId),
    /// A partial path that matches more than one object.
    Ambiguous,
    NotFound,
}

impl ObjectTree {
    /// Resolves `path` (absolute or partial) to an object of type `typename` (any type when
    /// `None`).
    pub fn resolve_typed(&self, path: &str, typename: Option<&str>) -> Resolved {
        // g_strsplit: "" has no parts, "/x" has an empty first part.
        let parts: Vec<&str> = if path.is_empty() {
            Vec::new()
        } else {
            path.split('/').collect()
        };
        if parts.first() == Some(&"") {
            return match self.resolve_abs(ObjectTree::ROOT, &parts[1..], typename, 0) {
                Some(id) => Resolved::Found(id),
                None => Resolved::NotFound,
            };
        }
        let mut ambiguous = false;
        match self.resolve_partial(ObjectTree::ROOT, &parts, typename, &mut ambiguous) {
            _ if ambiguous => Resolved::Ambiguous,
            Some(id) => Resolved::Found(id),
            None => Resolved::NotFound,
        }
    }

    /// The object `path` names, if exactly one.
    pub fn resolve(&self, path: &str) -> Option<ObjectId> {
        match self.resolve_typed(path, None) {
            Resolved::Found(id) => Some(id),
            _ => None,
        }
    }

    fn matches_type(&self, id: ObjectId, typename: Option<&str>) -> bool {
        match typename {
            None => true,
            Some(t) => self
                .get_object(id)
                .is_some_and(|o| types::is_a(o.type_name(), t)),
        }
    }

    fn resolve_abs(
        &self,
        from: ObjectId,
        parts: &[&str],
        typename: Option<&str>,
        depth: usize,
    ) -> Option<ObjectId> {
        let mut at = from;
        for part in parts.iter().filter(|p| !p.is_empty()) {
            at = self.component(at, part, depth)?;
        }
        self.matches_type(at, typename).then_some(at)
    }

    /// One step: a child, or the target of a link.
    fn component(&self, at: ObjectId, part: &str, depth: usize) -> Option<ObjectId> {
        if let Some(child) = self.child(at, part) {
            return Some(child);
        }
        let info = self.get_object(at)?.property(part)?;
        match info.kind {
            PropKind::Link {
                target: Some(target),
                ..
            } if depth < MAX_LINK_DEPTH => {
                let parts: Vec<&str> = target.split('/').collect();
                self.resolve_abs(ObjectTree::ROOT, &parts, None, depth + 1)
            }
            _ => None,
        }
    }

    fn resolve_partial(
        &self,
        from: ObjectId,
        parts: &[&str],
        typename: Option<&str>,
        ambiguous: &mut bool,
    ) -> Option<ObjectId> {
        let mut found = self.resolve_abs(from, parts, typename, 0);
        let children: Vec<ObjectId> = self
            .node(from)
            .map(|n| n.children.values().copied().collect())
            .unwrap_or_default();
        for child in children {
            if let Some(hit) = self.resolve_partial(child, parts, typename, ambiguous) {
                if found.is_some() {
                    *ambiguous = true;
                    return None;
                }
                found = Some(hit);
            }
            if *ambiguous {
                return None;
            }
        }
        found
    }
}
