import { createRouter, createWebHistory } from "vue-router";
import Account from "./pages/Account.vue";
import Cart from "./pages/Cart.vue";
import Catalog from "./pages/Catalog.vue";
import OpsDesk from "./pages/OpsDesk.vue";
import OpsOrder from "./pages/OpsOrder.vue";
import OrderPage from "./pages/OrderPage.vue";
import Product from "./pages/Product.vue";
import StockDashboard from "./pages/StockDashboard.vue";
import StockItem from "./pages/StockItem.vue";
import { type SessionUser, session } from "./session.ts";

type Role = SessionUser["role"];

/** Who may open a page; the API checks again, this only keeps the navigation honest. */
export const pageRoles = {
  stock: ["stock_manager", "admin"],
  ops: ["ops", "admin"],
} as const satisfies Record<string, readonly Role[]>;

// The paths emails link to are notification/web-pages.ts's: /stock/:sku, /ops/orders/:id,
// /orders/:id and /reset-password.
export const router = createRouter({
  history: createWebHistory(),
  routes: [
    { path: "/", component: Catalog },
    { path: "/products/:sku", component: Product, props: true },
    { path: "/cart", component: Cart },
    { path: "/orders/:id", component: OrderPage, props: true },
    { path: "/account", component: Account },
    { path: "/stock", component: StockDashboard, meta: { roles: pageRoles.stock } },
    { path: "/stock/:sku", component: StockItem, props: true, meta: { roles: pageRoles.stock } },
    { path: "/ops", component: OpsDesk, meta: { roles: pageRoles.ops } },
    { path: "/ops/orders/:id", component: OpsOrder, props: true, meta: { roles: pageRoles.ops } },
  ],
});

router.beforeEach((to) => {
  const roles = to.meta.roles as readonly Role[] | undefined;
  if (!roles) return true;
  if (!session.user) return { path: "/account", query: { next: to.fullPath } };
  return roles.includes(session.user.role) ? true : { path: "/" };
});
