/**
 * Staff accounts, managed by admins: who they are, their role, whether they may sign in. A change
 * revokes the user's logins at once, so their refresh tokens stop working; an access token already
 * issued lives until it expires (ACCESS_TOKEN_TTL_SECONDS). The shop always keeps one active admin.
 */
import type { Db, Queryable } from "../db/types.ts";
import { DomainError, notFound } from "../error.ts";
import * as z from "../zod.ts";
import {
  Email,
  hashPassword,
  Name,
  Password,
  Role,
  toUser,
  User,
  type UserRow,
  userColumns,
} from "./index.ts";
import { assertStrongPassword } from "./password-strength.ts";
import { revokeLogins } from "./session.ts";

export const StaffUser = z.extend(User, { disabled: z.boolean() });
export type StaffUser = z.infer<typeof StaffUser>;
export const StaffList = z.object({ items: z.array(StaffUser) });

const toStaffUser = (r: UserRow): StaffUser => ({ ...toUser(r), disabled: r.disabled });

/** Every account that is not a customer's, oldest first (a shop has tens of staff, not pages). */
export async function listStaff(db: Queryable): Promise<{ items: StaffUser[] }> {
  const { rows } = await db.query<UserRow>(
    `SELECT ${userColumns} FROM users WHERE role <> 'customer' ORDER BY created_at, id`,
  );
  return { items: rows.map(toStaffUser) };
}

export const UpdateStaffInput = z
  .strictObject({ role: z.optional(Role), disabled: z.optional(z.boolean()) })
  .check(z.refine((u) => Object.keys(u).length > 0, "at least one field to change"));
export type UpdateStaffInput = z.infer<typeof UpdateStaffInput>;

/**
 * Changes a user's role or disables them, and revokes their logins. Refused with 409 LAST_ADMIN
 * when it would leave no active admin: the active admins' rows are locked first, so two admins
 * demoting each other at the same moment take turns and the second is refused.
 */
export async function updateStaff(db: Db, id: string, input: UpdateStaffInput): Promise<StaffUser> {
  return db.transaction(async (tx) => {
    const admins = await tx.query<{ id: string }>(
      "SELECT id FROM users WHERE role = 'admin' AND NOT disabled ORDER BY id FOR UPDATE",
    );
    const { rows } = await tx.query<UserRow>(
      `SELECT ${userColumns} FROM users WHERE id = $1 FOR UPDATE`,
      [id],
    );
    const current = rows[0];
    if (!current) throw notFound("User", { id });
    const role = input.role ?? current.role;
    const disabled = input.disabled ?? current.disabled;
    const activeAdminAfter = role === "admin" && !disabled;
    const isActiveAdmin = admins.rows.some((a) => a.id === id);
    if (isActiveAdmin && !activeAdminAfter && admins.rows.length === 1) {
      throw new DomainError("LAST_ADMIN", { id });
    }
    const updated = await tx.query<UserRow>(
      `UPDATE users SET role = $2, disabled = $3 WHERE id = $1 RETURNING ${userColumns}`,
      [id, role, disabled],
    );
    await revokeLogins(tx, "staff_changed", { userId: id });
    return toStaffUser(updated.rows[0] as UserRow);
  });
}

export const AdminAccountInput = z.strictObject({ email: Email, name: Name, password: Password });
export type AdminAccountInput = z.infer<typeof AdminAccountInput>;

/**
 * The first admin of a stage (npm run admin:create): creates the account, or makes an existing one
 * an active admin with the given password, ending its logins. Idempotent for the same input.
 */
export async function createOrPromoteAdmin(
  db: Db,
  input: AdminAccountInput,
): Promise<{ user: StaffUser; created: boolean }> {
  await assertStrongPassword(input.password, input);
  const passwordHash = await hashPassword(input.password);
  return db.transaction(async (tx) => {
    const existing = await tx.query<UserRow>(
      `SELECT ${userColumns} FROM users WHERE lower(email) = lower($1) FOR UPDATE`,
      [input.email],
    );
    const current = existing.rows[0];
    if (current) {
      const { rows } = await tx.query<UserRow>(
        `UPDATE users SET role = 'admin', disabled = false, password_hash = $2
          WHERE id = $1 RETURNING ${userColumns}`,
        [current.id, passwordHash],
      );
      await revokeLogins(tx, "staff_changed", { userId: current.id });
      return { user: toStaffUser(rows[0] as UserRow), created: false };
    }
    const { rows } = await tx.query<UserRow>(
      `INSERT INTO users (email, password_hash, name, role) VALUES ($1, $2, $3, 'admin')
       RETURNING ${userColumns}`,
      [input.email, passwordHash, input.name],
    );
    return { user: toStaffUser(rows[0] as UserRow), created: true };
  });
}
