/** The shopper's open cart, by id, kept across reloads. */
import { api } from "./api.ts";

const KEY = "flashstock.cart";

export async function currentCartId(): Promise<string> {
  const known = localStorage.getItem(KEY);
  if (known) return known;
  const { data, error } = await api().POST("/carts");
  if (!data) throw error;
  localStorage.setItem(KEY, data.id);
  return data.id;
}

export function forgetCart(): void {
  localStorage.removeItem(KEY);
}

export const money = (cents: number, currency: string) =>
  new Intl.NumberFormat("en", { style: "currency", currency }).format(cents / 100);
