import { createRouter, createWebHistory } from "vue-router";
import Account from "./pages/Account.vue";
import Cart from "./pages/Cart.vue";
import Catalog from "./pages/Catalog.vue";
import OrderPage from "./pages/OrderPage.vue";
import Product from "./pages/Product.vue";

// The paths emails link to are notification/web-pages.ts's: /orders/:id is one of them.
export const router = createRouter({
  history: createWebHistory(),
  routes: [
    { path: "/", component: Catalog },
    { path: "/products/:sku", component: Product, props: true },
    { path: "/cart", component: Cart },
    { path: "/orders/:id", component: OrderPage, props: true },
    { path: "/account", component: Account },
  ],
});
