import { createUser } from "./auth/index.ts";
import { type CreateProductInput, createProduct } from "./catalog/index.ts";
import type { Db } from "./db/types.ts";

type DemoProduct = Omit<
  CreateProductInput,
  "description" | "imageUrls" | "attributes" | "currency" | "maxPerCustomer" | "availableFrom"
> &
  Partial<Pick<CreateProductInput, "maxPerCustomer">>;

/** A small catalog so that a fresh `npm start` has something to browse and to sell out. */
export const demoProducts: DemoProduct[] = [
  {
    sku: "TEE-BLK-M",
    name: "Black T-shirt (M)",
    priceCents: 1999,
    category: "apparel",
    available: 120,
    minQuantity: 20,
  },
  {
    sku: "TEE-WHT-M",
    name: "White T-shirt (M)",
    priceCents: 1999,
    category: "apparel",
    available: 80,
    minQuantity: 20,
  },
  {
    sku: "HOODIE-GRY-L",
    name: "Grey hoodie (L)",
    priceCents: 4999,
    category: "apparel",
    available: 40,
    minQuantity: 10,
  },
  {
    sku: "MUG-LOGO",
    name: "Logo mug",
    priceCents: 1299,
    category: "home",
    available: 200,
    minQuantity: 30,
  },
  {
    sku: "SNEAKER-LTD-42",
    name: "Limited sneaker (EU 42)",
    priceCents: 17999,
    category: "footwear",
    available: 25,
    minQuantity: 5,
    // A flash-sale drop: two pairs per customer at most.
    maxPerCustomer: 2,
  },
  {
    sku: "CAP-RED",
    name: "Red cap",
    priceCents: 2499,
    category: "apparel",
    available: 60,
    minQuantity: 10,
  },
];

/** Loads the demo catalog into an empty database; a database with any product is left alone. */
export async function seedDemoCatalog(db: Db, actorId: string): Promise<number> {
  const { rows } = await db.query("SELECT 1 FROM products LIMIT 1");
  if (rows.length > 0) return 0;
  for (const p of demoProducts) {
    await createProduct(
      db,
      {
        maxPerCustomer: null,
        ...p,
        description: "",
        currency: "EUR",
        imageUrls: [],
        attributes: {},
        availableFrom: null,
      },
      actorId,
    );
  }
  return demoProducts.length;
}

/** The demo shopper of `npm start`: signs in and pays with store credit out of the box. */
export const demoCustomer = {
  email: "customer@example.com",
  password: "customer-local-only",
  name: "Demo Customer",
  creditCents: 100_00,
};

/**
 * Creates the demo customer with its store credit (a top-up) unless an account with that email
 * exists. Local only, like the local admin.
 */
export async function seedDemoCustomer(db: Db, actorId: string): Promise<boolean> {
  const { rows } = await db.query("SELECT 1 FROM users WHERE lower(email) = lower($1)", [
    demoCustomer.email,
  ]);
  if (rows.length > 0) return false;
  const customer = await createUser(db, { ...demoCustomer, role: "customer" });
  await db.query("SELECT apply_wallet_delta($1, $2, 'top_up', NULL, $3, 'demo store credit')", [
    customer.id,
    demoCustomer.creditCents,
    actorId,
  ]);
  return true;
}
