/**
 * Example bodies for the API reference, one per route that takes or gives one. The lint of the
 * document (redocly, `no-invalid-media-type-examples`) holds each to its schema.
 */
const product = {
  sku: "TEE-BLK-M",
  name: "Black T-shirt (M)",
  description: "Organic cotton, 180 g/m²",
  priceCents: 1999,
  currency: "EUR",
  category: "apparel",
  imageUrls: ["https://cdn.example.com/tee-blk-m.jpg"],
  attributes: { colour: "black", size: "M" },
  available: 117,
  maxPerCustomer: null,
  availableFrom: null,
  rating: { average: 4.5, count: 12 },
};

const review = {
  id: "3b8f2c1e-5d4a-4e6b-9c7f-1a2b3c4d5e6f",
  sku: "TEE-BLK-M",
  rating: 5,
  title: "Soft and true to size",
  body: "Washed it twice, still black.",
  author: "Ada L.",
  createdAt: "2026-12-01T10:15:30.123Z",
};

const promotion = {
  code: "FLASH-10",
  kind: "percent",
  value: 10,
  currency: null,
  minSubtotalCents: 2000,
  startsAt: "2026-12-04T09:00:00.000Z",
  endsAt: "2026-12-04T21:00:00.000Z",
  usageLimit: 100,
  perCustomerLimit: 1,
  used: 0,
  active: true,
};

const address = {
  name: "Ann Example",
  line1: "1 Main St",
  line2: "Flat 2",
  city: "Berlin",
  postalCode: "10115",
  country: "DE",
};

const order = {
  id: "7d1f6a52-3c2e-4b8e-9a3f-2f6c1d8e4b90",
  status: "placed",
  customerId: "0b6f3c1e-8d2a-4f6b-9c7e-5a4d3b2c1e0f",
  lines: [{ sku: "TEE-BLK-M", name: "Black T-shirt (M)", quantity: 2, unitPriceCents: 1999 }],
  subtotalCents: 3998,
  discountCents: 400,
  promotionCode: "FLASH-10",
  totalCents: 3598,
  currency: "EUR",
  shippingAddress: address,
  hold: null,
  payment: {
    method: "cash_on_delivery",
    status: "pending",
    amountCents: 3598,
    refundedCents: 0,
    clientSecret: null,
  },
  shipment: null,
  history: [{ status: "placed", at: "2026-12-01T10:15:30.123Z" }],
  createdAt: "2026-12-01T10:15:30.123Z",
  updatedAt: "2026-12-01T10:15:30.123Z",
};

const confirmedOrder = {
  ...order,
  status: "confirmed",
  history: [...order.history, { status: "confirmed", at: "2026-12-01T10:15:31.004Z" }],
  updatedAt: "2026-12-01T10:15:31.004Z",
};

const shipment = {
  carrier: "DHL",
  trackingNumber: "00340434161094042557",
  trackingUrl:
    "https://www.dhl.de/en/privatkunden/pakete-empfangen/verfolgen.html?piececode=00340434161094042557",
  shippedAt: "2026-12-02T09:00:00.000Z",
  deliveredAt: null,
};

const shippedOrder = {
  ...confirmedOrder,
  status: "shipped",
  shipment,
  history: [...confirmedOrder.history, { status: "shipped", at: shipment.shippedAt }],
  updatedAt: shipment.shippedAt,
};

const deliveredAt = "2026-12-03T14:30:00.000Z";
const deliveredOrder = {
  ...shippedOrder,
  status: "delivered",
  payment: { ...order.payment, status: "paid" },
  shipment: { ...shipment, deliveredAt },
  history: [...shippedOrder.history, { status: "delivered", at: deliveredAt }],
  updatedAt: deliveredAt,
};

const cancelledAt = "2026-12-01T11:00:00.000Z";
const cancelledOrder = {
  ...confirmedOrder,
  status: "cancelled",
  payment: { ...order.payment, method: "store_credit", status: "refunded", refundedCents: 3598 },
  history: [...confirmedOrder.history, { status: "cancelled", at: cancelledAt }],
  updatedAt: cancelledAt,
};

const walletTopUp = {
  id: 41,
  at: "2026-11-30T08:00:00.000Z",
  amountCents: 10000,
  reason: "top_up",
  orderId: null,
  note: "gift card GC-1234",
  balanceAfterCents: 10000,
};

const heldOrder = {
  ...order,
  id: "5e2a9c14-7b3d-4e1f-8a6c-0d9b8e7f6a5c",
  status: "on_hold",
  hold: { reason: "SUSPECTED_DUPLICATE", duplicateOf: order.id },
  history: [{ status: "on_hold", at: "2026-12-01T10:15:30.123Z" }],
};

const cart = {
  id: "3f8e2d1c-6b5a-4c9d-8e7f-1a2b3c4d5e6f",
  status: "open",
  items: [
    {
      sku: "TEE-BLK-M",
      name: "Black T-shirt (M)",
      quantity: 2,
      unitPriceCents: 1999,
      lineTotalCents: 3998,
    },
  ],
  subtotalCents: 3998,
  promotion: { code: "FLASH-10", discountCents: 400 },
  discountCents: 400,
  totalCents: 3598,
  currency: "EUR",
};

const emptyCart = {
  ...cart,
  items: [],
  subtotalCents: 0,
  promotion: null,
  discountCents: 0,
  totalCents: 0,
};

const user = {
  id: order.customerId,
  email: "ann@example.com",
  name: "Ann Example",
  role: "customer",
  createdAt: "2026-11-30T08:00:00.000Z",
};

const token = "eyJhbGciOiJIUzI1NiIsInR5cCI6IkpXVCJ9.eyJzdWIiOiIuLi4ifQ.c2lnbmF0dXJl";
const refreshTokenExample = "rt_Qm9vWm9vLWFuLW9wYXF1ZS0yNTYtYml0LXRva2VuLi4u";
const session = { user, token, refreshToken: refreshTokenExample, expiresInSeconds: 900 };
const stockLevel = { sku: "TEE-BLK-M", available: 127, minQuantity: 20 };

/** Success bodies, by route (`METHOD /path`). */
export const responseExamples: Record<string, unknown> = {
  "GET /health": { status: "ok" },
  "POST /auth/register": session,
  "POST /auth/login": session,
  "POST /auth/refresh": { token, refreshToken: refreshTokenExample, expiresInSeconds: 900 },
  "GET /me": user,
  "PATCH /me": { ...user, name: "Ann Example" },
  "POST /staff": { ...user, email: "sam@example.com", name: "Sam", role: "stock_manager" },
  "GET /products": { items: [product], nextCursor: "WyJURUUtQkxLLU0iXQ" },
  "POST /products": { ...product, minQuantity: 20 },
  "GET /products/{sku}": product,
  "PATCH /products/{sku}": { ...product, priceCents: 1799, minQuantity: 20 },
  "GET /inventory": {
    items: [
      { sku: "TEE-BLK-M", name: "Black T-shirt (M)", available: 12, minQuantity: 20, low: true },
    ],
  },
  "PUT /inventory/{sku}": stockLevel,
  "POST /inventory/{sku}/adjustments": stockLevel,
  "GET /inventory/{sku}/movements": {
    items: [
      {
        at: "2026-11-30T08:00:00.000Z",
        delta: 120,
        reason: "initial",
        orderId: null,
        availableAfter: 120,
        actor: { id: "9a8b7c6d-5e4f-4a3b-8c2d-1e0f9a8b7c6d", email: "sam@example.com" },
        note: "opening stock, PO 4711",
      },
      {
        at: "2026-12-01T10:15:30.123Z",
        delta: -2,
        reason: "sale",
        orderId: order.id,
        availableAfter: 118,
        actor: null,
        note: null,
      },
    ],
    nextCursor: null,
  },
  "POST /carts": emptyCart,
  "GET /carts/{id}": cart,
  "PUT /carts/{id}/items/{sku}": cart,
  "DELETE /carts/{id}/items/{sku}": {
    ...emptyCart,
    promotion: { code: "FLASH-10", discountCents: 0 },
  },
  "PUT /carts/{id}/promotion": cart,
  "DELETE /carts/{id}/promotion": { ...cart, promotion: null, discountCents: 0, totalCents: 3998 },
  "POST /checkout": order,
  "GET /orders": { items: [order], nextCursor: null },
  "GET /orders/{id}": order,
  "POST /orders/{id}/cancel": cancelledOrder,
  "POST /orders/{id}/ship": shippedOrder,
  "POST /orders/{id}/deliver": deliveredOrder,
  "GET /me/wallet": {
    balanceCents: 6402,
    currency: "EUR",
    items: [
      {
        id: 42,
        at: "2026-12-01T10:15:30.123Z",
        amountCents: -3598,
        reason: "order_payment",
        orderId: order.id,
        note: null,
        balanceAfterCents: 6402,
      },
      walletTopUp,
    ],
    nextCursor: null,
  },
  "GET /customers/{id}/wallet": {
    balanceCents: 10000,
    currency: "EUR",
    items: [walletTopUp],
    nextCursor: null,
  },
  "POST /customers/{id}/wallet/transactions": { balanceCents: 10000, transaction: walletTopUp },
  "POST /webhooks/stripe": { received: true, outcome: "applied" },
  "GET /reports/sales": {
    days: [
      { date: "2026-11-30", orders: 41, units: 57, revenueCents: 215843 },
      { date: "2026-12-01", orders: 212, units: 318, revenueCents: 1187562 },
    ],
    topProducts: [
      { sku: "SNEAKER-LTD-42", name: "Limited sneaker (42)", units: 120, revenueCents: 2148000 },
      { sku: "TEE-BLK-M", name: "Black T-shirt (M)", units: 95, revenueCents: 189905 },
    ],
    byStatus: {
      awaiting_payment: 2,
      placed: 14,
      on_hold: 1,
      confirmed: 96,
      shipped: 120,
      delivered: 22,
      cancelled: 9,
    },
  },
  "GET /reports/inventory": {
    items: [
      {
        sku: "SNEAKER-LTD-42",
        name: "Limited sneaker (42)",
        available: 12,
        minQuantity: 20,
        soldLast24h: 96,
        soldLast7d: 120,
        dailyRate: 96,
        daysOfCover: 0.125,
        suggestedReorder: 1352,
      },
    ],
  },
  "POST /promotions": promotion,
  "GET /promotions": { items: [promotion], nextCursor: null },
  "GET /promotions/{code}": { ...promotion, used: 37 },
  "PATCH /promotions/{code}": { ...promotion, used: 37, usageLimit: 150 },
  "POST /products/{sku}/reviews": review,
  "GET /products/{sku}/reviews": { items: [review], nextCursor: null },
  "POST /orders/{id}/release": {
    ...heldOrder,
    status: "placed",
    history: [
      { status: "on_hold", at: "2026-12-01T10:15:30.123Z" },
      { status: "placed", at: "2026-12-01T10:20:00.000Z" },
    ],
    updatedAt: "2026-12-01T10:20:00.000Z",
    hold: {
      ...heldOrder.hold,
      releasedBy: "9a8b7c6d-5e4f-4a3b-8c2d-1e0f9a8b7c6d",
      releasedAt: "2026-12-01T10:20:00.000Z",
    },
  },
};

/** Request bodies, by route. */
export const requestExamples: Record<string, unknown> = {
  "POST /auth/register": { email: "ann@example.com", password: "a long passphrase", name: "Ann" },
  "POST /auth/login": { email: "ann@example.com", password: "a long passphrase" },
  "POST /auth/refresh": { refreshToken: refreshTokenExample },
  "POST /auth/logout": { refreshToken: refreshTokenExample },
  "PATCH /me": { name: "Ann Example" },
  "POST /me/password": {
    currentPassword: "a long passphrase",
    newPassword: "another long password",
  },
  "POST /staff": {
    email: "sam@example.com",
    password: "a long passphrase",
    name: "Sam",
    role: "stock_manager",
  },
  "POST /products": {
    sku: "DROP-1",
    name: "Drop sneaker",
    priceCents: 19900,
    category: "shoes",
    available: 20,
    minQuantity: 5,
  },
  "PATCH /products/{sku}": {
    priceCents: 17900,
    maxPerCustomer: 2,
    availableFrom: "2026-12-24T10:00:00.000Z",
  },
  "PUT /inventory/{sku}": { minQuantity: 8 },
  "POST /inventory/{sku}/adjustments": { delta: 10, reason: "restock", note: "PO 4711" },
  "PUT /carts/{id}/items/{sku}": { quantity: 2 },
  "POST /checkout": {
    cartId: cart.id,
    shippingAddress: address,
    payment: { method: "cash_on_delivery" },
  },
  "POST /orders/{id}/cancel": { reason: "ordered the wrong size" },
  "POST /orders/{id}/ship": {
    carrier: shipment.carrier,
    trackingNumber: shipment.trackingNumber,
    trackingUrl: shipment.trackingUrl,
  },
  "POST /customers/{id}/wallet/transactions": {
    amountCents: 10000,
    reason: "top_up",
    note: "gift card GC-1234",
  },
  "POST /promotions": {
    code: "FLASH-10",
    kind: "percent",
    value: 10,
    minSubtotalCents: 2000,
    startsAt: "2026-12-04T09:00:00Z",
    endsAt: "2026-12-04T21:00:00Z",
    usageLimit: 100,
    perCustomerLimit: 1,
  },
  "PATCH /promotions/{code}": { usageLimit: 150 },
  "POST /products/{sku}/reviews": {
    rating: 5,
    title: "Soft and true to size",
    body: "Washed it twice, still black.",
  },
  "PUT /carts/{id}/promotion": { code: "flash-10" },
  "POST /webhooks/stripe": {
    id: "evt_3QkFf2Lz9yQ1aB2c0d4e5f6g",
    object: "event",
    type: "payment_intent.succeeded",
    data: {
      object: {
        id: "pi_3QkFf2Lz9yQ1aB2c0h1i2j3k",
        object: "payment_intent",
        amount: 3998,
        amount_received: 3998,
        currency: "eur",
        status: "succeeded",
        metadata: { orderId: order.id, customerId: order.customerId },
      },
    },
  },
};
