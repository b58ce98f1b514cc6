//! Who may do what with a course. Roles are the course's, read from the database on each
//! request (a token's role is only what its account was when it was issued):
//!
//! - its **owner** (who created it) publishes it, invites co-teachers and removes them;
//! - its **teachers** (the owner and co-teachers who accepted) manage its assignments, its
//!   template and read its students' work;
//! - a course is **visible** to everyone once published, and before that only to those who
//!   take part in it or are invited to teach it. To anyone else it does not exist (404).
//!
//! Creating a course takes an account with the role `teacher`, which only an operator grants
//! (`platform-admin`, see [`crate::admin`]).

use crate::auth::Caller;
use crate::error::ApiError;
use crate::state::AppState;
use crate::store;
use crate::store::courses::Standing;
use crate::views::CourseListing;
use contracts::{CourseId, UserId};
use diesel_async::AsyncPgConnection;
use serde::{Deserialize, Serialize};
use utoipa::ToSchema;

/// Someone's part in a course.
#[derive(Clone, Copy, Debug, PartialEq, Eq, Serialize, Deserialize, ToSchema)]
#[serde(rename_all = "snake_case")]
pub enum CourseRole {
    /// Created it: teaches it and decides who else does and when it opens.
    Owner,
    /// Accepted an invitation to teach it.
    Teacher,
    /// Invited to teach it, not yet accepted.
    Invited,
    /// Takes it (joined it or submitted to it).
    Student,
}

impl CourseRole {
    /// Reads a role from what the database holds for one person and course. An invitation
    /// outranks taking the course as a student, so the student sees they are invited.
    fn from_row(owner: bool, participant: Option<&str>, invited: bool) -> Option<Self> {
        match (owner, participant, invited) {
            (true, ..) => Some(Self::Owner),
            (false, Some("teacher"), _) => Some(Self::Teacher),
            (false, _, true) => Some(Self::Invited),
            (false, Some(_), false) => Some(Self::Student),
            (false, None, false) => None,
        }
    }

    pub fn teaches(self) -> bool {
        matches!(self, Self::Owner | Self::Teacher)
    }
}

/// The caller's standing in one course.
#[derive(Clone, Copy, Debug)]
pub struct Access {
    pub published: bool,
    pub owner: UserId,
    pub role: Option<CourseRole>,
}

impl Access {
    /// The caller's standing in `course`; 404 when there is no such course.
    pub async fn of(
        conn: &mut AsyncPgConnection,
        course: CourseId,
        caller: &Caller,
    ) -> Result<Self, ApiError> {
        let standing = store::courses::standing(conn, course.0, caller.id().0)
            .await?
            .ok_or(ApiError::NotFound("course"))?;
        Ok(Self::from_standing(&standing, caller.id().0))
    }

    /// The caller's standing in `course` if they teach it: 403 if they only see it, 404 if
    /// they do not.
    pub async fn teacher(
        conn: &mut AsyncPgConnection,
        course: CourseId,
        caller: &Caller,
    ) -> Result<Self, ApiError> {
        Self::of(conn, course, caller).await?.require_teacher()
    }

    /// What `user`, whose standing this is, may do.
    pub fn from_standing(standing: &Standing, user: i64) -> Self {
        Self {
            published: standing.course.published,
            owner: UserId(standing.course.owner_id),
            role: CourseRole::from_row(
                standing.course.owner_id == user,
                standing.participant.as_deref(),
                standing.invited,
            ),
        }
    }

    pub fn visible(&self) -> bool {
        self.published || self.role.is_some()
    }

    pub fn teaches(&self) -> bool {
        self.role.is_some_and(CourseRole::teaches)
    }

    /// 404 unless the caller may see the course.
    pub fn require_visible(self) -> Result<Self, ApiError> {
        if self.visible() {
            Ok(self)
        } else {
            Err(ApiError::NotFound("course"))
        }
    }

    /// 403 unless the caller teaches the course (404 if they may not even see it).
    pub fn require_teacher(self) -> Result<Self, ApiError> {
        self.require(
            CourseRole::teaches,
            "only the course's teachers may do this",
        )
    }

    /// 403 unless the caller owns the course (404 if they may not even see it).
    pub fn require_owner(self) -> Result<Self, ApiError> {
        self.require(
            |role| role == CourseRole::Owner,
            "only the course's owner may do this",
        )
    }

    fn require(self, allowed: fn(CourseRole) -> bool, refusal: &str) -> Result<Self, ApiError> {
        if self.role.is_some_and(allowed) {
            Ok(self)
        } else {
            self.require_visible()?;
            Err(ApiError::Forbidden(refusal.into()))
        }
    }
}

/// Answers a course's 404 as the absence of `what` (an assignment in it, say), so that the
/// answer does not tell that there is a course hidden behind it.
pub fn missing(what: &'static str) -> impl Fn(ApiError) -> ApiError {
    move |refusal| match refusal {
        ApiError::NotFound(_) => ApiError::NotFound(what),
        refusal => refusal,
    }
}

/// The course's listing, if `caller` may see the course (404 otherwise). For a published
/// course, which every user may see, that takes no database query while the listing is cached.
pub async fn visible_listing(
    state: &AppState,
    course: CourseId,
    caller: &Caller,
) -> Result<CourseListing, ApiError> {
    let listing = state
        .cache
        .course_listing(&state.keys, &state.db, course)
        .await?;
    if !listing.published {
        Access::of(&mut *state.conn().await?, course, caller)
            .await?
            .require_visible()?;
    }
    Ok(listing)
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn roles_are_read_from_ownership_participation_and_invitation() {
        use CourseRole::*;
        assert_eq!(
            CourseRole::from_row(true, Some("teacher"), false),
            Some(Owner)
        );
        assert_eq!(
            CourseRole::from_row(false, Some("teacher"), false),
            Some(Teacher)
        );
        assert_eq!(
            CourseRole::from_row(false, Some("student"), true),
            Some(Invited)
        );
        assert_eq!(CourseRole::from_row(false, None, true), Some(Invited));
        assert_eq!(
            CourseRole::from_row(false, Some("student"), false),
            Some(Student)
        );
        assert_eq!(CourseRole::from_row(false, None, false), None);
    }

    #[test]
    fn unpublished_courses_are_hidden_from_outsiders_and_closed_to_students() {
        let access = |published, role| Access {
            published,
            owner: UserId(1),
            role,
        };
        let status = |result: Result<Access, ApiError>| {
            result.map(|_| ()).map_err(|e| e.problem().status.as_u16())
        };
        assert_eq!(status(access(false, None).require_visible()), Err(404));
        assert_eq!(status(access(false, None).require_teacher()), Err(404));
        assert_eq!(status(access(true, None).require_teacher()), Err(403));
        assert_eq!(
            status(access(false, Some(CourseRole::Invited)).require_visible()),
            Ok(())
        );
        assert_eq!(
            status(access(false, Some(CourseRole::Invited)).require_teacher()),
            Err(403)
        );
        assert_eq!(
            status(access(false, Some(CourseRole::Student)).require_teacher()),
            Err(403)
        );
        assert_eq!(
            status(access(false, Some(CourseRole::Teacher)).require_teacher()),
            Ok(())
        );
        assert_eq!(
            status(access(false, Some(CourseRole::Teacher)).require_owner()),
            Err(403)
        );
        assert_eq!(
            status(access(false, Some(CourseRole::Owner)).require_owner()),
            Ok(())
        );
    }
}
