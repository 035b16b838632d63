import { createRouter, createWebHistory } from "vue-router";
import Account from "./pages/Account.vue";
import Cart from "./pages/Cart.vue";
import Catalog from "./pages/Catalog.vue";
import OrderPage from "./pages/OrderPage.vue";
import Product from "./pages/Product.vue";
import { type SessionUser, session } from "./session.ts";

type Role = SessionUser["role"];

/** Who may open a page; the API checks again, this only keeps the navigation honest. */
export const pageRoles = {
  stock: ["stock_manager", "admin"],
  ops: ["ops", "admin"],
  reports: ["stock_manager", "ops", "admin"],
  admin: ["admin"],
  myOrders: ["customer"],
} as const satisfies Record<string, readonly Role[]>;

// Staff pages load on first use: a shopper's storefront never downloads the dashboards or
// Chart.js. The paths emails link to are notification/web-pages.ts's: /stock/:sku, /ops/orders/:id,
// /orders/:id and /reset-password.
export const router = createRouter({
  history: createWebHistory(),
  routes: [
    { path: "/", component: Catalog },
    { path: "/products/:sku", component: Product, props: true },
    { path: "/cart", component: Cart },
    { path: "/orders/:id", component: OrderPage, props: true },
    {
      path: "/orders",
      component: () => import("./pages/MyOrders.vue"),
      meta: { roles: pageRoles.myOrders },
    },
    { path: "/account", component: Account },
    { path: "/reset-password", component: () => import("./pages/ResetPassword.vue") },
    {
      path: "/stock",
      component: () => import("./pages/StockDashboard.vue"),
      meta: { roles: pageRoles.stock },
    },
    {
      path: "/stock/:sku",
      component: () => import("./pages/StockItem.vue"),
      props: true,
      meta: { roles: pageRoles.stock },
    },
    {
      path: "/reports",
      component: () => import("./pages/Reports.vue"),
      meta: { roles: pageRoles.reports },
    },
    {
      path: "/ops",
      component: () => import("./pages/OpsDesk.vue"),
      meta: { roles: pageRoles.ops },
    },
    {
      path: "/ops/orders/:id",
      component: () => import("./pages/OpsOrder.vue"),
      props: true,
      meta: { roles: pageRoles.ops },
    },
    {
      path: "/ops/customers/:id",
      component: () => import("./pages/OpsCustomer.vue"),
      props: true,
      meta: { roles: pageRoles.ops },
    },
    {
      path: "/admin/staff",
      component: () => import("./pages/AdminStaff.vue"),
      meta: { roles: pageRoles.admin },
    },
    {
      path: "/admin/promotions",
      component: () => import("./pages/AdminPromotions.vue"),
      meta: { roles: pageRoles.admin },
    },
  ],
});

router.beforeEach((to) => {
  const roles = to.meta.roles as readonly Role[] | undefined;
  if (!roles) return true;
  if (!session.user) return { path: "/account", query: { next: to.fullPath } };
  return roles.includes(session.user.role) ? true : { path: "/" };
});
