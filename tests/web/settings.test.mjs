// The pure rules of the space settings, lobby menu, accounts and dialog modules.
import { test } from "node:test";
import assert from "node:assert/strict";

import { usersQuery } from "../../src/metaverse/web/screens/admin-users.js";
import { namesMatch } from "../../src/metaverse/web/screens/dialogs.js";
import { roleIn, spaceLink } from "../../src/metaverse/web/screens/lobby.js";
import { callerRole, inviteState, memberActions, spaceChanges } from "../../src/metaverse/web/screens/space-settings.js";
import * as protocol from "../../src/metaverse/web/protocol.js";

const SPACE = { id: "s1", name: "Team room", ownerId: "ann", visibility: "public", guests: false };
const MEMBERS = [
  { userId: "ann", role: "owner" },
  { userId: "bob", role: "moderator" },
  { userId: "cleo", role: "member" },
];

test("the caller's role comes from the owner id, else the member list", () => {
  assert.equal(callerRole(SPACE, MEMBERS, "ann"), "owner");
  assert.equal(callerRole(SPACE, MEMBERS, "bob"), "moderator");
  assert.equal(callerRole(SPACE, MEMBERS, "cleo"), "member");
  assert.equal(callerRole(SPACE, MEMBERS, "dan"), null);
});

test("the owner changes roles and removes anyone else; moderators remove plain members", () => {
  const [ann, bob, cleo] = MEMBERS;
  assert.deepEqual(memberActions("owner", ann, "ann"), { changeRole: false, remove: false });
  assert.deepEqual(memberActions("owner", bob, "ann"), { changeRole: true, remove: true });
  assert.deepEqual(memberActions("moderator", cleo, "bob"), { changeRole: false, remove: true });
  assert.deepEqual(memberActions("moderator", bob, "bob"), { changeRole: false, remove: false });
  assert.deepEqual(memberActions("moderator", ann, "bob"), { changeRole: false, remove: false });
});

test("a settings save sends only what changed", () => {
  const same = { name: " Team room ", visibility: "public", guests: false };
  assert.deepEqual(spaceChanges(SPACE, same), {});
  assert.deepEqual(spaceChanges(SPACE, { ...same, name: "Studio", visibility: "private", guests: true }), {
    name: "Studio",
    visibility: "private",
    guests: true,
  });
  assert.deepEqual(spaceChanges(SPACE, { ...same, name: "  " }), {});
  // A server that does not know guests yet: only turning them on is a change.
  const older = { ...SPACE, guests: undefined };
  assert.deepEqual(spaceChanges(older, same), {});
  assert.deepEqual(spaceChanges(older, { ...same, guests: true }), { guests: true });
});

test("an invite link is active, expired, used up or revoked", () => {
  const now = Date.parse("2026-12-07T12:00:00Z");
  const link = { revoked: false, expiresAt: null, maxUses: null, uses: 3 };
  assert.equal(inviteState(link, now), "active");
  assert.equal(inviteState({ ...link, expiresAt: "2026-12-07T11:59:59Z" }, now), "expired");
  assert.equal(inviteState({ ...link, expiresAt: "2026-12-08T00:00:00Z" }, now), "active");
  assert.equal(inviteState({ ...link, maxUses: 3 }, now), "used up");
  assert.equal(inviteState({ ...link, revoked: true, maxUses: 3 }, now), "revoked");
});

test("a lobby card's actions follow the caller's role in its section", () => {
  assert.equal(roleIn("mine", { id: "s" }), "owner");
  assert.equal(roleIn("joined", { id: "s", role: "moderator" }), "moderator");
  assert.equal(roleIn("public", { id: "s" }), null);
  assert.equal(spaceLink("a b", "https://example.org"), "https://example.org/spaces/a%20b");
});

test("deleting asks for the exact name", () => {
  assert.equal(namesMatch("Team room", "Team room"), true);
  assert.equal(namesMatch("  Team room ", "Team room"), true);
  assert.equal(namesMatch("team room", "Team room"), false);
  assert.equal(namesMatch("Team", "Team room"), false);
  assert.equal(namesMatch("", ""), false);
});

test("the accounts list asks for a page, a search and a cursor", () => {
  assert.equal(usersQuery("", null), "/admin/users?limit=50");
  assert.equal(usersQuery(" Ann Lee ", "bob", 10), "/admin/users?limit=10&q=Ann+Lee&cursor=bob");
});

test("a disabled account is terminal, and a bare 4001 still means an invalid token", () => {
  assert.equal(protocol.TERMINAL_ERRORS.account_disabled, 4001);
  assert.equal(protocol.terminalCloseReason(4001), "invalid_token");
});
