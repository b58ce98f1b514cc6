// What the caller's part in a course (the api's `my_role`) lets the page offer: an owner
// teaches like a co-teacher; an invitee neither teaches nor takes the course until they accept.

/** Whether the caller teaches `course` (owns it or accepted to co-teach it). */
export function teaches(course) {
  return course?.my_role === "owner" || course?.my_role === "teacher";
}

/** Whether the caller takes `course` as a student. */
export function takes(course) {
  return course?.my_role === "student";
}
