// Pure logic of who is where: a stable colour per Yjs client, and the people an awareness
// state map holds (one entry per socket: a person with two tabs open is there twice, which is
// what they see too). States are {user: {id, name, colour}, cursor: {anchor, head} | null}.

/** A colour for a client id: the same on every screen, distinct for neighbours, readable. */
export function colourFor(clientId) {
  // Golden-angle steps spread consecutive ids around the wheel.
  const hue = Math.round((Number(clientId) * 137.508) % 360);
  return `hsl(${hue}, 70%, 38%)`;
}

/** The same colour, faint, for a selection's background. */
export function selectionColour(colour) {
  return colour.replace(/^hsl\((.*)\)$/, "hsla($1, 0.22)");
}

/**
 * The other people in a document, from an awareness `getStates()` map: [{clientId, userId,
 * name, colour, cursor}] ordered by name, without `localClientId` and without states that
 * carry no user (a client that has not announced itself yet).
 */
export function peers(states, localClientId) {
  const list = [];
  for (const [clientId, state] of states) {
    if (clientId === localClientId || !state || !state.user) continue;
    const user = state.user;
    list.push({
      clientId,
      userId: Number.isInteger(user.id) ? user.id : null,
      name: typeof user.name === "string" && user.name.trim() ? user.name.trim().slice(0, 60) : "Someone",
      colour: typeof user.colour === "string" && /^hsl\(\d+, 70%, 38%\)$/.test(user.colour) ? user.colour : colourFor(clientId),
      cursor: state.cursor ?? null,
    });
  }
  return list.sort((a, b) => a.name.localeCompare(b.name) || a.clientId - b.clientId);
}

/** "Ada and Bob are here", "Nobody else is here", for the presence line and the announcer. */
export function presenceSentence(people) {
  const names = [...new Set(people.map((p) => p.name))];
  if (!names.length) return "Nobody else is in this file.";
  if (names.length === 1) return `${names[0]} is in this file.`;
  return `${names.slice(0, -1).join(", ")} and ${names[names.length - 1]} are in this file.`;
}
