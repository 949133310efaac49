//! Every webhook topic hookcli knows (shared/INTERCOM.md §4): its `data.item` object type,
//! the permission an app needs to subscribe to it, and what it means.

/// One topic.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub struct Topic {
    /// The topic name, e.g. `conversation.admin.replied`.
    pub name: &'static str,
    /// The `data.item.type` its notifications carry; for the contact attach/detach topics,
    /// whose item has no type, the key the object sits under beside `contact`.
    pub object: &'static str,
    /// The Developer Hub permission needed to subscribe to it.
    pub permission: &'static str,
    /// What it means, in one line.
    pub description: &'static str,
    /// A topic of an old API version (1.x, or a spelling 2.x later changed), still seen in
    /// old captures.
    pub legacy: bool,
}

const fn t(
    name: &'static str,
    object: &'static str,
    permission: &'static str,
    description: &'static str,
) -> Topic {
    Topic {
        name,
        object,
        permission,
        description,
        legacy: false,
    }
}

const fn legacy(
    name: &'static str,
    object: &'static str,
    permission: &'static str,
    description: &'static str,
) -> Topic {
    Topic {
        name,
        object,
        permission,
        description,
        legacy: true,
    }
}

const ADMINS: &str = "Read admins";
const ARTICLES: &str = "Read and list articles";
const AUDIENCES: &str = "Read audiences";
const CONV: &str = "Read conversations";
const USERS: &str = "Read users and companies, or Read one user and one company";
const USERS_RW: &str =
    "Read users and companies, Read and write users, or Read one user and one company";
const TICKETS: &str = "Read tickets";
const CONTENT_DATA: &str = "Read content data";

/// The catalog, current topics first, then the legacy ones.
pub const TOPICS: &[Topic] = &[
    t(
        "admin.added_to_workspace",
        "admin",
        ADMINS,
        "A teammate was added to the workspace",
    ),
    t(
        "admin.away_mode_updated",
        "admin",
        ADMINS,
        "A teammate turned away mode on or off",
    ),
    t(
        "admin.activity_log_event.created",
        "admin_activity_log_event",
        ADMINS,
        "An entry was added to the teammate activity log",
    ),
    t(
        "admin.removed_from_workspace",
        "admin",
        ADMINS,
        "A teammate was removed from the workspace",
    ),
    t("admin.logged_in", "admin", ADMINS, "A teammate logged in"),
    t("admin.logged_out", "admin", ADMINS, "A teammate logged out"),
    t(
        "article.created",
        "article",
        ARTICLES,
        "A help center article was created",
    ),
    t(
        "article.updated",
        "article",
        ARTICLES,
        "An article was updated",
    ),
    t(
        "article.published",
        "article",
        ARTICLES,
        "An article was published",
    ),
    t(
        "article.unpublished",
        "article",
        ARTICLES,
        "An article was unpublished",
    ),
    t(
        "article.deleted",
        "article",
        ARTICLES,
        "An article was deleted",
    ),
    t(
        "audience.created",
        "audience",
        AUDIENCES,
        "An audience was created (Preview API)",
    ),
    t(
        "audience.updated",
        "audience",
        AUDIENCES,
        "An audience was updated (Preview API)",
    ),
    t(
        "audience.deleted",
        "audience",
        AUDIENCES,
        "An audience was deleted (Preview API)",
    ),
    t(
        "audience.member_added",
        "audience_membership",
        AUDIENCES,
        "A contact joined an audience (Preview API)",
    ),
    t(
        "audience.member_removed",
        "audience_membership",
        AUDIENCES,
        "A contact left an audience (Preview API)",
    ),
    t(
        "call.started",
        "call",
        CONV,
        "An Intercom Phone call started",
    ),
    t("call.ended", "call", CONV, "An Intercom Phone call ended"),
    t(
        "call.transcription_available",
        "call",
        CONV,
        "A call's transcription is ready",
    ),
    t(
        "call.recording_available",
        "call",
        CONV,
        "A call's recording is ready",
    ),
    t(
        "content_import_source.created",
        "content_import_source",
        "Read content",
        "A content import source was created (Preview API)",
    ),
    t(
        "content_import_source.updated",
        "content_import_source",
        "Read content",
        "A content import source was updated (Preview API)",
    ),
    t(
        "content_import_source.deleted",
        "content_import_source",
        "Read content",
        "A content import source was deleted (Preview API)",
    ),
    t(
        "content_snippet.created",
        "content_snippet",
        "Read content snippets",
        "A content snippet was created",
    ),
    t(
        "content_snippet.updated",
        "content_snippet",
        "Read content snippets",
        "A content snippet was updated",
    ),
    t(
        "content_snippet.deleted",
        "content_snippet",
        "Read content snippets",
        "A content snippet was deleted",
    ),
    t("company.created", "company", USERS, "A company was created"),
    t("company.updated", "company", USERS, "A company was updated"),
    t("company.deleted", "company", USERS, "A company was deleted"),
    t(
        "company.contact.attached",
        "company",
        USERS,
        "A contact was attached to a company",
    ),
    t(
        "company.contact.detached",
        "company",
        USERS,
        "A contact was detached from a company",
    ),
    t(
        "contact.archived",
        "contact",
        USERS_RW,
        "A contact was archived (API 2.5 spelled it contact.archive)",
    ),
    t(
        "contact.deleted",
        "contact",
        USERS_RW,
        "A contact was deleted",
    ),
    t(
        "contact.email.updated",
        "contact",
        USERS_RW,
        "A contact's email changed",
    ),
    t(
        "contact.lead.added_email",
        "contact",
        USERS_RW,
        "A lead added an email address",
    ),
    t(
        "contact.lead.created",
        "contact",
        USERS_RW,
        "A lead was created",
    ),
    t(
        "contact.lead.signed_up",
        "contact",
        USERS_RW,
        "A lead signed up and became a user",
    ),
    t(
        "contact.lead.updated",
        "contact",
        USERS_RW,
        "A lead was updated",
    ),
    t(
        "contact.merged",
        "contact",
        USERS_RW,
        "Two contacts were merged (merged_from names the other)",
    ),
    t(
        "contact.unarchived",
        "contact",
        USERS_RW,
        "A contact was unarchived (as captures spell it; Intercom's topic list says contact.unarchive)",
    ),
    t(
        "contact.unarchive",
        "contact",
        USERS_RW,
        "A contact was unarchived (as Intercom's topic list spells it; captures say contact.unarchived)",
    ),
    t(
        "contact.user.created",
        "contact",
        USERS_RW,
        "A user was created",
    ),
    t(
        "contact.user.updated",
        "contact",
        USERS_RW,
        "A user was updated",
    ),
    t(
        "contact.lead.tag.created",
        "contact_tag",
        USERS_RW,
        "A lead was tagged",
    ),
    t(
        "contact.lead.tag.deleted",
        "contact_tag",
        USERS_RW,
        "A tag was removed from a lead",
    ),
    t(
        "contact.user.tag.created",
        "contact_tag",
        USERS_RW,
        "A user was tagged",
    ),
    t(
        "contact.user.tag.deleted",
        "contact_tag",
        USERS_RW,
        "A tag was removed from a user",
    ),
    t(
        "contact.subscribed",
        "contact_subscribe",
        USERS_RW,
        "A contact subscribed to a subscription type",
    ),
    t(
        "contact.unsubscribed",
        "contact_unsubscribe",
        USERS_RW,
        "A contact unsubscribed from a subscription type",
    ),
    t(
        "conversation.admin.assigned",
        "conversation",
        CONV,
        "A conversation was assigned to a teammate or team",
    ),
    t(
        "conversation.admin.closed",
        "conversation",
        CONV,
        "A teammate closed a conversation",
    ),
    t(
        "conversation.admin.noted",
        "conversation",
        CONV,
        "A teammate added an internal note",
    ),
    t(
        "conversation.admin.open.assigned",
        "conversation",
        CONV,
        "An open conversation was assigned",
    ),
    t(
        "conversation.admin.opened",
        "conversation",
        CONV,
        "A teammate reopened a conversation",
    ),
    t(
        "conversation.admin.replied",
        "conversation",
        CONV,
        "A teammate replied to a conversation",
    ),
    t(
        "conversation.admin.replied.translated",
        "conversation",
        CONV,
        "A teammate's reply was translated (2.16+, whole body in HTML blocks)",
    ),
    t(
        "conversation.admin.single.created",
        "conversation",
        CONV,
        "A teammate started a conversation",
    ),
    t(
        "conversation.admin.snoozed",
        "conversation",
        CONV,
        "A teammate snoozed a conversation",
    ),
    t(
        "conversation.admin.unsnoozed",
        "conversation",
        CONV,
        "A conversation was unsnoozed",
    ),
    t(
        "conversation.operator.replied",
        "conversation",
        CONV,
        "Fin or another bot replied",
    ),
    t(
        "conversation.deleted",
        "conversation",
        CONV,
        "A conversation was deleted",
    ),
    t(
        "conversation.priority.updated",
        "conversation",
        CONV,
        "A conversation's priority changed",
    ),
    t(
        "conversation.rating.added",
        "conversation",
        CONV,
        "A customer rated a conversation",
    ),
    t(
        "conversation.user.created",
        "conversation",
        CONV,
        "A customer started a conversation",
    ),
    t(
        "conversation.user.replied",
        "conversation",
        CONV,
        "A customer replied to a conversation",
    ),
    t(
        "conversation.contact.attached",
        "conversation",
        CONV,
        "A contact was added to a conversation",
    ),
    t(
        "conversation.contact.detached",
        "conversation",
        CONV,
        "A contact was removed from a conversation",
    ),
    t(
        "conversation.company.updated",
        "conversation",
        CONV,
        "A conversation's company changed",
    ),
    t(
        "conversation.read",
        "conversation",
        "none listed",
        "A customer read a conversation",
    ),
    t(
        "conversation_part.redacted",
        "conversation",
        CONV,
        "A conversation part was redacted",
    ),
    t(
        "conversation_part.tag.created",
        "conversation",
        CONV,
        "A conversation part was tagged",
    ),
    t(
        "content_stat.banner",
        "content_stat.banner",
        CONTENT_DATA,
        "A banner was seen, clicked or dismissed",
    ),
    t(
        "content_stat.carousel",
        "content_stat.carousel",
        CONTENT_DATA,
        "Mobile carousel engagement",
    ),
    t(
        "content_stat.chat",
        "content_stat.chat",
        CONTENT_DATA,
        "Chat engagement",
    ),
    t(
        "content_stat.checklist",
        "content_stat.checklist",
        CONTENT_DATA,
        "Checklist engagement",
    ),
    t(
        "content_stat.custom_bot",
        "content_stat.custom_bot",
        CONTENT_DATA,
        "Custom bot engagement",
    ),
    t(
        "content_stat.email",
        "content_stat.email",
        CONTENT_DATA,
        "Email engagement",
    ),
    t(
        "content_stat.news_item",
        "content_stat.news_item",
        CONTENT_DATA,
        "News item engagement",
    ),
    t(
        "content_stat.post",
        "content_stat.post",
        CONTENT_DATA,
        "Post engagement",
    ),
    t(
        "content_stat.push",
        "content_stat.push",
        CONTENT_DATA,
        "Push message engagement",
    ),
    t(
        "content_stat.series",
        "content_stat.series",
        CONTENT_DATA,
        "Series engagement",
    ),
    t(
        "content_stat.series.webhook",
        "content_stat.series.webhook",
        CONTENT_DATA,
        "A series webhook step ran",
    ),
    t(
        "content_stat.sms",
        "content_stat.sms",
        CONTENT_DATA,
        "SMS engagement",
    ),
    t(
        "content_stat.survey",
        "content_stat.survey",
        CONTENT_DATA,
        "Survey engagement",
    ),
    t(
        "content_stat.tooltip_group",
        "content_stat.tooltip_group",
        CONTENT_DATA,
        "Tooltip engagement",
    ),
    t(
        "content_stat.tour",
        "content_stat.tour",
        CONTENT_DATA,
        "Product tour engagement",
    ),
    t(
        "event.created",
        "event",
        "Read events",
        "A data event was submitted for a contact",
    ),
    t(
        "api.request.completed",
        "api.request.completed",
        "Read API activity logs",
        "An API request to the workspace completed",
    ),
    t(
        "job.completed",
        "job",
        "Read jobs",
        "A background job finished",
    ),
    t(
        "granular.subscribe",
        "granular_subscribe",
        USERS_RW,
        "A contact subscribed to a subscription type",
    ),
    t(
        "granular.unsubscribe",
        "granular_unsubscribe",
        USERS_RW,
        "A contact unsubscribed from a subscription type",
    ),
    t("ticket.created", "ticket", TICKETS, "A ticket was created"),
    t(
        "ticket.state.updated",
        "ticket",
        TICKETS,
        "A ticket's state changed",
    ),
    t(
        "ticket.note.created",
        "ticket_ticket_part",
        TICKETS,
        "A note was added to a ticket",
    ),
    t(
        "ticket.admin.assigned",
        "ticket_ticket_part",
        TICKETS,
        "A ticket was assigned to a teammate",
    ),
    t(
        "ticket.team.assigned",
        "ticket_ticket_part",
        TICKETS,
        "A ticket was assigned to a team",
    ),
    t(
        "ticket.contact.attached",
        "ticket",
        TICKETS,
        "A contact was added to a ticket",
    ),
    t(
        "ticket.contact.detached",
        "ticket",
        TICKETS,
        "A contact was removed from a ticket",
    ),
    t(
        "ticket.attribute.updated",
        "ticket_ticket_part",
        TICKETS,
        "A ticket attribute changed",
    ),
    t(
        "ticket.admin.replied",
        "ticket_ticket_part",
        TICKETS,
        "A teammate replied to a ticket",
    ),
    t(
        "ticket.contact.replied",
        "ticket_ticket_part",
        TICKETS,
        "A customer replied to a ticket",
    ),
    t(
        "ticket.closed",
        "ticket",
        TICKETS,
        "A ticket's conversation was closed (2.15+: data.item.ticket)",
    ),
    t(
        "ticket.rating.provided",
        "ticket",
        TICKETS,
        "A customer rated a ticket",
    ),
    t(
        "ticket.resolved",
        "ticket",
        TICKETS,
        "A ticket was resolved (2.15+)",
    ),
    t(
        "ticket.admin.snoozed",
        "ticket",
        TICKETS,
        "A teammate snoozed a ticket (2.16+)",
    ),
    t(
        "ticket.admin.unsnoozed",
        "ticket",
        TICKETS,
        "A ticket was unsnoozed (2.16+)",
    ),
    t(
        "ticket.admin.replied.translated",
        "ticket",
        TICKETS,
        "A teammate's ticket reply was translated (2.16+)",
    ),
    // Real captures of both sign-ups carry the user the visitor or lead became.
    t("visitor.signed_up", "user", USERS_RW, "A visitor signed up"),
    t(
        "data_connector.execution.completed",
        "data_connector.execution",
        "Read data connectors",
        "A data connector ran",
    ),
    t(
        "procedure.hitl_notification.created",
        "procedure.hitl_notification",
        CONV,
        "A procedure needs a human in the loop (Preview API)",
    ),
    t(
        "ping",
        "ping",
        "none (always subscribed)",
        "Intercom's test notification: on set-up, on \"Send a test request\", and now and then",
    ),
    legacy("user.created", "user", USERS, "1.x: a user was created"),
    legacy("user.deleted", "user", USERS, "1.x: a user was deleted"),
    legacy(
        "user.unsubscribed",
        "user",
        USERS,
        "1.x: a user unsubscribed from emails",
    ),
    legacy(
        "user.unsubscribed_from_sms",
        "user",
        USERS,
        "1.x: a user unsubscribed from SMS",
    ),
    legacy(
        "user.email.updated",
        "user",
        USERS,
        "1.x: a user's email changed",
    ),
    legacy(
        "user.tag.created",
        "user_tag",
        USERS,
        "1.x: a user was tagged",
    ),
    legacy(
        "user.tag.deleted",
        "user_tag",
        USERS,
        "1.x: a tag was removed from a user",
    ),
    legacy(
        "contact.created",
        "contact",
        USERS,
        "1.x: a lead was created",
    ),
    legacy("contact.signed_up", "user", USERS, "1.x: a lead signed up"),
    legacy(
        "contact.added_email",
        "contact",
        USERS,
        "1.x: a lead added an email address",
    ),
    legacy(
        "contact.updated",
        "contact",
        USERS,
        "1.x: a lead was updated",
    ),
    legacy(
        "contact.tag.created",
        "contact_tag",
        USERS,
        "1.x: a lead was tagged (2.x: contact.lead.tag.created)",
    ),
    legacy(
        "contact.tag.deleted",
        "contact_tag",
        USERS,
        "1.x: a tag was removed from a lead (2.x: contact.lead.tag.deleted)",
    ),
    legacy(
        "contact.archive",
        "contact",
        USERS_RW,
        "2.5: a contact was archived (later spelled contact.archived)",
    ),
];

/// The topic with this exact name.
pub fn find(name: &str) -> Option<&'static Topic> {
    TOPICS.iter().find(|t| t.name == name)
}

/// Up to three topic names nearest to a misspelt one by edit distance, nearest first; none
/// when nothing is close.
pub fn nearest(name: &str) -> Vec<&'static str> {
    // Topics are lowercase: `PING` is one edit from `ping`, not four.
    let name = name.to_lowercase();
    let name = name.as_str();
    let mut near: Vec<(usize, &'static str)> = TOPICS
        .iter()
        .map(|t| (edits(name, t.name), t.name))
        .filter(|(d, _)| *d <= name.chars().count() / 3 + 1)
        .collect();
    // A stable sort: ties keep catalog order, current topics first.
    near.sort_by_key(|(d, _)| *d);
    near.into_iter().take(3).map(|(_, n)| n).collect()
}

/// The Levenshtein distance: single-character insertions, deletions and substitutions.
fn edits(a: &str, b: &str) -> usize {
    let b: Vec<char> = b.chars().collect();
    let mut row: Vec<usize> = (0..=b.len()).collect();
    for (i, ca) in a.chars().enumerate() {
        let mut diagonal = row[0];
        row[0] = i + 1;
        for (j, cb) in b.iter().enumerate() {
            let above = row[j + 1];
            row[j + 1] = if ca == *cb {
                diagonal
            } else {
                1 + diagonal.min(above).min(row[j])
            };
            diagonal = above;
        }
    }
    row[b.len()]
}

/// Topics whose name matches a `*`/`?` glob, in catalog order.
pub fn matching(glob: &str) -> Vec<&'static Topic> {
    TOPICS
        .iter()
        .filter(|t| crate::forward::glob_match(glob, t.name))
        .collect()
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn names_are_unique() {
        let mut names: Vec<&str> = TOPICS.iter().map(|t| t.name).collect();
        names.sort_unstable();
        let before = names.len();
        names.dedup();
        assert_eq!(before, names.len());
    }

    #[test]
    fn every_topic_family_of_intercom_md_is_covered() {
        for name in [
            "ping",
            "conversation.read",
            "ticket.resolved",
            "content_stat.series.webhook",
            "procedure.hitl_notification.created",
            "audience.member_added",
            "user.created",
            // Every spelling INTERCOM.md §4 or a capture shows.
            "contact.unarchive",
            "contact.unarchived",
            "contact.archive",
            "contact.archived",
            "contact.tag.created",
            "contact.tag.deleted",
        ] {
            assert!(find(name).is_some(), "{name}");
        }
        // INTERCOM.md §4's current topics, with both spellings of contact.unarchive(d).
        assert_eq!(TOPICS.iter().filter(|t| !t.legacy).count(), 111);
    }

    #[test]
    fn permissions_are_those_of_intercom_md() {
        let permission = |name: &str| find(name).unwrap().permission;
        assert_eq!(permission("visitor.signed_up"), USERS_RW);
        assert_eq!(permission("contact.user.created"), USERS_RW);
        assert_eq!(permission("granular.subscribe"), USERS_RW);
        assert_eq!(permission("company.created"), USERS);
        assert_eq!(permission("audience.created"), "Read audiences");
        assert_eq!(permission("conversation.read"), "none listed");
    }

    #[test]
    fn near_misses_suggest_the_nearest_topics() {
        assert_eq!(nearest("contact.tag.create")[0], "contact.tag.created");
        assert_eq!(nearest("ticket.create")[0], "ticket.created");
        assert_eq!(nearest("PING"), ["ping"]);
        assert_eq!(nearest("Ticket.Created")[0], "ticket.created");
        let unarchive = nearest("contact.unarchve");
        assert!(
            unarchive.contains(&"contact.unarchive") && unarchive.contains(&"contact.unarchived"),
            "{unarchive:?}"
        );
        assert!(nearest("zzz").is_empty());
        assert_eq!(edits("kitten", "sitting"), 3);
    }

    #[test]
    fn globs_select_topics() {
        assert_eq!(matching("ticket.admin.*").len(), 5);
        assert!(matching("nothing.*").is_empty());
    }
}
