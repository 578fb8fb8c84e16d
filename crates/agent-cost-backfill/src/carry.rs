//! Carrying a pull request's blocks onto the commit that merged it, as a note: for squash
//! merges whose message drops the trailers (GitHub's "pull request title and description" and
//! "default message" without commit messages, GitLab's squash with a custom template), the
//! squash commit would otherwise carry no spend at all. The blocks keep their drain ids, so
//! where the message did keep them, readers count each drain once.

use std::collections::HashSet;

use agent_cost_git::{AI_COST_NOTES, History};
use agent_cost_trailers::{Block, BlockFate, block_fates, commit_blocks};

use crate::BackfillError;

/// The blocks of `range` that count (each drain once), less those of commits `onto`'s first
/// parent has (the target branch's own, merged into the pull request from it) and those `onto`
/// already carries in its message or note, in walk order.
pub fn blocks_to_carry(
    history: &History,
    range: &str,
    onto: &str,
) -> Result<Vec<Block>, BackfillError> {
    let notes = history.notes(AI_COST_NOTES)?;
    let onto = history
        .commit_id(onto)
        .ok_or_else(|| BackfillError::NoCommit(onto.to_string()))?;
    // Commits the merged commit's first parent (the branch merged into) already has are not
    // the pull request's, even when the pull request merged them in from that branch.
    let tip = match range.rsplit_once("..") {
        Some((_, tip)) => tip.trim_start_matches('.'),
        None => range,
    };
    let tip = if tip.is_empty() { "HEAD" } else { tip };
    let own: Option<HashSet<String>> = match history.commit_links(&onto)?.parents.first() {
        Some(parent) => {
            let mut own = HashSet::new();
            history.walk(Some(&format!("{parent}..{tip}")), |id, _| {
                own.insert(id.to_string());
            })?;
            Some(own)
        }
        None => None,
    };
    let mut blocks: Vec<Block> = Vec::new();
    history.walk(Some(range), |id, message| {
        if own
            .as_ref()
            .is_some_and(|own| !own.contains(&id.to_string()))
        {
            return;
        }
        blocks.extend(commit_blocks(message, notes.get(id)));
    })?;
    let target = history
        .message_of(&onto)
        .ok_or_else(|| BackfillError::NoCommit(onto.clone()))?;
    let held: HashSet<String> = commit_blocks(&target, notes.get_hex(&onto))
        .into_iter()
        .map(|b| b.id)
        .collect();
    let fates = block_fates(&blocks);
    Ok(blocks
        .into_iter()
        .zip(fates)
        .filter(|(block, fate)| *fate == BlockFate::Counted && !held.contains(&block.id))
        .map(|(block, _)| block)
        .collect())
}

/// The note text carrying `blocks`: their trailer lines, a blank line between blocks.
pub fn note_text(blocks: &[Block]) -> String {
    let mut text = blocks
        .iter()
        .map(|block| block.to_trailer_lines().join("\n"))
        .collect::<Vec<_>>()
        .join("\n\n");
    text.push('\n');
    text
}
