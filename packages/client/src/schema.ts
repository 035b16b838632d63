// Generated from docs/openapi.json by `npm run openapi` (openapi-typescript). Do not edit.

export interface paths {
    "/": {
        parameters: {
            query?: never;
            header?: never;
            path?: never;
            cookie?: never;
        };
        /**
         * Where the API describes itself
         * @description Anyone; no token is read.
         */
        get: operations["docs.index"];
        put?: never;
        post?: never;
        delete?: never;
        options?: never;
        head?: never;
        patch?: never;
        trace?: never;
    };
    "/openapi.json": {
        parameters: {
            query?: never;
            header?: never;
            path?: never;
            cookie?: never;
        };
        /**
         * This API's OpenAPI 3.1 document
         * @description Anyone; no token is read.
         */
        get: operations["docs.openapi"];
        put?: never;
        post?: never;
        delete?: never;
        options?: never;
        head?: never;
        patch?: never;
        trace?: never;
    };
    "/docs": {
        parameters: {
            query?: never;
            header?: never;
            path?: never;
            cookie?: never;
        };
        /**
         * An interactive reference of this API (Swagger UI)
         * @description Anyone; no token is read.
         */
        get: operations["docs.reference"];
        put?: never;
        post?: never;
        delete?: never;
        options?: never;
        head?: never;
        patch?: never;
        trace?: never;
    };
    "/docs/swagger-ui.css": {
        parameters: {
            query?: never;
            header?: never;
            path?: never;
            cookie?: never;
        };
        /**
         * The reference page's stylesheet
         * @description Anyone; no token is read.
         */
        get: operations["docs.stylesheet"];
        put?: never;
        post?: never;
        delete?: never;
        options?: never;
        head?: never;
        patch?: never;
        trace?: never;
    };
    "/docs/swagger-ui-bundle.js": {
        parameters: {
            query?: never;
            header?: never;
            path?: never;
            cookie?: never;
        };
        /**
         * The reference page's script
         * @description Anyone; no token is read.
         */
        get: operations["docs.script"];
        put?: never;
        post?: never;
        delete?: never;
        options?: never;
        head?: never;
        patch?: never;
        trace?: never;
    };
    "/health": {
        parameters: {
            query?: never;
            header?: never;
            path?: never;
            cookie?: never;
        };
        /**
         * Whether the API and its database answer
         * @description Anyone; no token is read.
         */
        get: operations["health.check"];
        put?: never;
        post?: never;
        delete?: never;
        options?: never;
        head?: never;
        patch?: never;
        trace?: never;
    };
    "/auth/register": {
        parameters: {
            query?: never;
            header?: never;
            path?: never;
            cookie?: never;
        };
        get?: never;
        put?: never;
        /**
         * Create a customer account and sign in
         * @description Anyone; no token is read.
         */
        post: operations["auth.register"];
        delete?: never;
        options?: never;
        head?: never;
        patch?: never;
        trace?: never;
    };
    "/auth/login": {
        parameters: {
            query?: never;
            header?: never;
            path?: never;
            cookie?: never;
        };
        get?: never;
        put?: never;
        /**
         * Sign in with email and password
         * @description Anyone; no token is read.
         */
        post: operations["auth.login"];
        delete?: never;
        options?: never;
        head?: never;
        patch?: never;
        trace?: never;
    };
    "/auth/refresh": {
        parameters: {
            query?: never;
            header?: never;
            path?: never;
            cookie?: never;
        };
        get?: never;
        put?: never;
        /**
         * Exchange a refresh token for a new access token and the next refresh token
         * @description Anyone; no token is read.
         */
        post: operations["auth.refresh"];
        delete?: never;
        options?: never;
        head?: never;
        patch?: never;
        trace?: never;
    };
    "/auth/logout": {
        parameters: {
            query?: never;
            header?: never;
            path?: never;
            cookie?: never;
        };
        get?: never;
        put?: never;
        /**
         * End the login of a refresh token
         * @description Anyone; no token is read.
         */
        post: operations["auth.logout"];
        delete?: never;
        options?: never;
        head?: never;
        patch?: never;
        trace?: never;
    };
    "/auth/password-reset": {
        parameters: {
            query?: never;
            header?: never;
            path?: never;
            cookie?: never;
        };
        get?: never;
        put?: never;
        /**
         * Email a single-use link to reset the password (the same answer whether or not the account exists)
         * @description Anyone; no token is read.
         */
        post: operations["auth.requestPasswordReset"];
        delete?: never;
        options?: never;
        head?: never;
        patch?: never;
        trace?: never;
    };
    "/auth/password-reset/confirm": {
        parameters: {
            query?: never;
            header?: never;
            path?: never;
            cookie?: never;
        };
        get?: never;
        put?: never;
        /**
         * Set a new password with the emailed token, ending every login, and sign in
         * @description Anyone; no token is read.
         */
        post: operations["auth.confirmPasswordReset"];
        delete?: never;
        options?: never;
        head?: never;
        patch?: never;
        trace?: never;
    };
    "/me": {
        parameters: {
            query?: never;
            header?: never;
            path?: never;
            cookie?: never;
        };
        /**
         * The caller's account
         * @description Any signed-in user (bearer token).
         */
        get: operations["me.get"];
        put?: never;
        post?: never;
        delete?: never;
        options?: never;
        head?: never;
        /**
         * Change the caller's name
         * @description Any signed-in user (bearer token).
         */
        patch: operations["me.update"];
        trace?: never;
    };
    "/me/password": {
        parameters: {
            query?: never;
            header?: never;
            path?: never;
            cookie?: never;
        };
        get?: never;
        put?: never;
        /**
         * Change the caller's password, ending every other login of theirs
         * @description Any signed-in user (bearer token).
         */
        post: operations["me.changePassword"];
        delete?: never;
        options?: never;
        head?: never;
        patch?: never;
        trace?: never;
    };
    "/staff": {
        parameters: {
            query?: never;
            header?: never;
            path?: never;
            cookie?: never;
        };
        /**
         * Every staff account, with whether it is disabled
         * @description Roles: admin (bearer token).
         */
        get: operations["staff.list"];
        put?: never;
        /**
         * Create a staff account (stock manager, ops or admin)
         * @description Roles: admin (bearer token).
         */
        post: operations["staff.create"];
        delete?: never;
        options?: never;
        head?: never;
        patch?: never;
        trace?: never;
    };
    "/staff/{id}": {
        parameters: {
            query?: never;
            header?: never;
            path?: never;
            cookie?: never;
        };
        get?: never;
        put?: never;
        post?: never;
        delete?: never;
        options?: never;
        head?: never;
        /**
         * Change a user's role or disable them; their logins end at once
         * @description Roles: admin (bearer token).
         */
        patch: operations["staff.update"];
        trace?: never;
    };
    "/products": {
        parameters: {
            query?: never;
            header?: never;
            path?: never;
            cookie?: never;
        };
        /**
         * Browse the catalog: by category, by search, a page at a time
         * @description Anyone. With a bearer token the cart is the caller's, and invisible to everyone else; a bad token is refused.
         */
        get: operations["products.list"];
        put?: never;
        /**
         * Add a product with its opening stock
         * @description Roles: stock_manager, admin (bearer token).
         */
        post: operations["products.create"];
        delete?: never;
        options?: never;
        head?: never;
        patch?: never;
        trace?: never;
    };
    "/products/{sku}": {
        parameters: {
            query?: never;
            header?: never;
            path?: never;
            cookie?: never;
        };
        /**
         * One product, with the units available now
         * @description Anyone. With a bearer token the cart is the caller's, and invisible to everyone else; a bad token is refused.
         */
        get: operations["products.get"];
        put?: never;
        post?: never;
        delete?: never;
        options?: never;
        head?: never;
        /**
         * Change a product's details or price
         * @description Roles: stock_manager, admin (bearer token).
         */
        patch: operations["products.update"];
        trace?: never;
    };
    "/products/{sku}/reviews": {
        parameters: {
            query?: never;
            header?: never;
            path?: never;
            cookie?: never;
        };
        /**
         * A product's reviews, newest first, a page at a time
         * @description Anyone; no token is read.
         */
        get: operations["reviews.list"];
        put?: never;
        /**
         * Review a product you received (a delivered order holds it): 1-5 stars, once
         * @description Roles: customer (bearer token).
         */
        post: operations["reviews.create"];
        delete?: never;
        options?: never;
        head?: never;
        patch?: never;
        trace?: never;
    };
    "/inventory": {
        parameters: {
            query?: never;
            header?: never;
            path?: never;
            cookie?: never;
        };
        /**
         * Stock of every product, or only those below their minimum
         * @description Roles: stock_manager, admin (bearer token).
         */
        get: operations["inventory.list"];
        put?: never;
        post?: never;
        delete?: never;
        options?: never;
        head?: never;
        patch?: never;
        trace?: never;
    };
    "/inventory/{sku}": {
        parameters: {
            query?: never;
            header?: never;
            path?: never;
            cookie?: never;
        };
        get?: never;
        /**
         * Set the stock below which the stock manager is told
         * @description Roles: stock_manager, admin (bearer token).
         */
        put: operations["inventory.setMinimum"];
        post?: never;
        delete?: never;
        options?: never;
        head?: never;
        patch?: never;
        trace?: never;
    };
    "/inventory/{sku}/adjustments": {
        parameters: {
            query?: never;
            header?: never;
            path?: never;
            cookie?: never;
        };
        get?: never;
        put?: never;
        /**
         * Restock, write off or correct a product's stock
         * @description Roles: stock_manager, admin (bearer token).
         */
        post: operations["inventory.adjust"];
        delete?: never;
        options?: never;
        head?: never;
        patch?: never;
        trace?: never;
    };
    "/inventory/{sku}/movements": {
        parameters: {
            query?: never;
            header?: never;
            path?: never;
            cookie?: never;
        };
        /**
         * A product's stock ledger, oldest first
         * @description Roles: stock_manager, admin (bearer token).
         */
        get: operations["inventory.movements"];
        put?: never;
        post?: never;
        delete?: never;
        options?: never;
        head?: never;
        patch?: never;
        trace?: never;
    };
    "/carts": {
        parameters: {
            query?: never;
            header?: never;
            path?: never;
            cookie?: never;
        };
        get?: never;
        put?: never;
        /**
         * Start a cart: the caller's with a token, anonymous without
         * @description Anyone. With a bearer token the cart is the caller's, and invisible to everyone else; a bad token is refused.
         */
        post: operations["cart.create"];
        delete?: never;
        options?: never;
        head?: never;
        patch?: never;
        trace?: never;
    };
    "/carts/{id}": {
        parameters: {
            query?: never;
            header?: never;
            path?: never;
            cookie?: never;
        };
        /**
         * A cart with its lines at today's prices
         * @description Anyone. With a bearer token the cart is the caller's, and invisible to everyone else; a bad token is refused.
         */
        get: operations["cart.get"];
        put?: never;
        post?: never;
        delete?: never;
        options?: never;
        head?: never;
        patch?: never;
        trace?: never;
    };
    "/carts/{id}/items/{sku}": {
        parameters: {
            query?: never;
            header?: never;
            path?: never;
            cookie?: never;
        };
        get?: never;
        /**
         * Set a line's quantity (0 removes it)
         * @description Anyone. With a bearer token the cart is the caller's, and invisible to everyone else; a bad token is refused.
         */
        put: operations["cart.setItem"];
        post?: never;
        /**
         * Remove a line
         * @description Anyone. With a bearer token the cart is the caller's, and invisible to everyone else; a bad token is refused.
         */
        delete: operations["cart.removeItem"];
        options?: never;
        head?: never;
        patch?: never;
        trace?: never;
    };
    "/carts/{id}/promotion": {
        parameters: {
            query?: never;
            header?: never;
            path?: never;
            cookie?: never;
        };
        get?: never;
        /**
         * Put a coupon code on the cart (replacing any other); checkout redeems it
         * @description Anyone. With a bearer token the cart is the caller's, and invisible to everyone else; a bad token is refused.
         */
        put: operations["cart.applyPromotion"];
        post?: never;
        /**
         * Take the coupon code off the cart
         * @description Anyone. With a bearer token the cart is the caller's, and invisible to everyone else; a bad token is refused.
         */
        delete: operations["cart.removePromotion"];
        options?: never;
        head?: never;
        patch?: never;
        trace?: never;
    };
    "/checkout": {
        parameters: {
            query?: never;
            header?: never;
            path?: never;
            cookie?: never;
        };
        get?: never;
        put?: never;
        /**
         * Turn a cart into an order, once per Idempotency-Key
         * @description Roles: customer (bearer token).
         */
        post: operations["checkout.checkout"];
        delete?: never;
        options?: never;
        head?: never;
        patch?: never;
        trace?: never;
    };
    "/orders": {
        parameters: {
            query?: never;
            header?: never;
            path?: never;
            cookie?: never;
        };
        /**
         * Orders, newest first: a customer's own, or all of them for ops and admin
         * @description Roles: customer, ops, admin (bearer token).
         */
        get: operations["orders.list"];
        put?: never;
        post?: never;
        delete?: never;
        options?: never;
        head?: never;
        patch?: never;
        trace?: never;
    };
    "/orders/{id}": {
        parameters: {
            query?: never;
            header?: never;
            path?: never;
            cookie?: never;
        };
        /**
         * One order (its owner's, or any for ops and admin)
         * @description Roles: customer, ops, admin (bearer token).
         */
        get: operations["orders.get"];
        put?: never;
        post?: never;
        delete?: never;
        options?: never;
        head?: never;
        patch?: never;
        trace?: never;
    };
    "/orders/{id}/cancel": {
        parameters: {
            query?: never;
            header?: never;
            path?: never;
            cookie?: never;
        };
        get?: never;
        put?: never;
        /**
         * Cancel an order: its units go back, and its money (its owner, ops or admin)
         * @description Roles: customer, ops, admin (bearer token).
         */
        post: operations["orders.cancel"];
        delete?: never;
        options?: never;
        head?: never;
        patch?: never;
        trace?: never;
    };
    "/orders/{id}/release": {
        parameters: {
            query?: never;
            header?: never;
            path?: never;
            cookie?: never;
        };
        get?: never;
        put?: never;
        /**
         * Release an order held as a suspected duplicate
         * @description Roles: ops, admin (bearer token).
         */
        post: operations["orders.release"];
        delete?: never;
        options?: never;
        head?: never;
        patch?: never;
        trace?: never;
    };
    "/orders/{id}/ship": {
        parameters: {
            query?: never;
            header?: never;
            path?: never;
            cookie?: never;
        };
        get?: never;
        put?: never;
        /**
         * Hand a confirmed order to a carrier; the customer gets the tracking link
         * @description Roles: ops, admin (bearer token).
         */
        post: operations["orders.ship"];
        delete?: never;
        options?: never;
        head?: never;
        patch?: never;
        trace?: never;
    };
    "/orders/{id}/deliver": {
        parameters: {
            query?: never;
            header?: never;
            path?: never;
            cookie?: never;
        };
        get?: never;
        put?: never;
        /**
         * Record that a shipped order arrived (cash on delivery is paid then)
         * @description Roles: ops, admin (bearer token).
         */
        post: operations["orders.deliver"];
        delete?: never;
        options?: never;
        head?: never;
        patch?: never;
        trace?: never;
    };
    "/me/wallet": {
        parameters: {
            query?: never;
            header?: never;
            path?: never;
            cookie?: never;
        };
        /**
         * The caller's store credit and its transactions, newest first
         * @description Roles: customer (bearer token).
         */
        get: operations["wallet.mine"];
        put?: never;
        post?: never;
        delete?: never;
        options?: never;
        head?: never;
        patch?: never;
        trace?: never;
    };
    "/customers/{id}/wallet": {
        parameters: {
            query?: never;
            header?: never;
            path?: never;
            cookie?: never;
        };
        /**
         * A customer's store credit and its transactions, newest first
         * @description Roles: ops, admin (bearer token).
         */
        get: operations["wallet.ofCustomer"];
        put?: never;
        post?: never;
        delete?: never;
        options?: never;
        head?: never;
        patch?: never;
        trace?: never;
    };
    "/customers/{id}/wallet/transactions": {
        parameters: {
            query?: never;
            header?: never;
            path?: never;
            cookie?: never;
        };
        get?: never;
        put?: never;
        /**
         * Top up, credit as goodwill or correct a customer's store credit
         * @description Roles: ops, admin (bearer token).
         */
        post: operations["wallet.change"];
        delete?: never;
        options?: never;
        head?: never;
        patch?: never;
        trace?: never;
    };
    "/reports/sales": {
        parameters: {
            query?: never;
            header?: never;
            path?: never;
            cookie?: never;
        };
        /**
         * Sales per day, top products and orders by status between two UTC dates (at most 366 days); revenue for ops and admin only
         * @description Roles: stock_manager, ops, admin (bearer token).
         */
        get: operations["reports.sales"];
        put?: never;
        post?: never;
        delete?: never;
        options?: never;
        head?: never;
        patch?: never;
        trace?: never;
    };
    "/reports/inventory": {
        parameters: {
            query?: never;
            header?: never;
            path?: never;
            cookie?: never;
        };
        /**
         * Every SKU's stock with its sales velocity, days of cover and suggested reorder, as the stock emails compute them
         * @description Roles: stock_manager, admin (bearer token).
         */
        get: operations["reports.inventory"];
        put?: never;
        post?: never;
        delete?: never;
        options?: never;
        head?: never;
        patch?: never;
        trace?: never;
    };
    "/promotions": {
        parameters: {
            query?: never;
            header?: never;
            path?: never;
            cookie?: never;
        };
        /**
         * Promotions, by code, a page at a time
         * @description Roles: admin (bearer token).
         */
        get: operations["promotions.list"];
        put?: never;
        /**
         * Create a coupon code: percent or fixed, with its window, minimum and limits
         * @description Roles: admin (bearer token).
         */
        post: operations["promotions.create"];
        delete?: never;
        options?: never;
        head?: never;
        patch?: never;
        trace?: never;
    };
    "/promotions/{code}": {
        parameters: {
            query?: never;
            header?: never;
            path?: never;
            cookie?: never;
        };
        /**
         * One promotion, with the uses taken
         * @description Roles: admin (bearer token).
         */
        get: operations["promotions.get"];
        put?: never;
        post?: never;
        delete?: never;
        options?: never;
        head?: never;
        /**
         * Turn a promotion off or on, end it, or change its limits
         * @description Roles: admin (bearer token).
         */
        patch: operations["promotions.update"];
        trace?: never;
    };
    "/webhooks/stripe": {
        parameters: {
            query?: never;
            header?: never;
            path?: never;
            cookie?: never;
        };
        get?: never;
        put?: never;
        /**
         * Stripe's webhook: each payment event applied once (signed with STRIPE_WEBHOOK_SECRET)
         * @description Anyone; no token is read.
         */
        post: operations["webhooks.stripe"];
        delete?: never;
        options?: never;
        head?: never;
        patch?: never;
        trace?: never;
    };
}
export type webhooks = Record<string, never>;
export interface components {
    schemas: {
        Session: {
            user: components["schemas"]["User"];
            token: string;
            refreshToken: string;
            expiresInSeconds: number;
        };
        User: {
            /** Format: uuid */
            id: string;
            email: string;
            name: string;
            /** @enum {string} */
            role: "customer" | "stock_manager" | "ops" | "admin";
            /** Format: date-time */
            createdAt: string;
        };
        TokenPair: {
            token: string;
            refreshToken: string;
            expiresInSeconds: number;
        };
        ProductPage: {
            items: components["schemas"]["Product"][];
            nextCursor: string | null;
        };
        Product: {
            sku: string;
            name: string;
            description: string;
            priceCents: number;
            currency: string;
            category: string | null;
            imageUrls: string[];
            attributes: {
                [key: string]: string | number | boolean;
            };
            available: number;
            maxPerCustomer: number | null;
            availableFrom: string | null;
            minQuantity?: number;
            rating: {
                average: number | null;
                count: number;
            };
        };
        InventoryList: {
            items: components["schemas"]["InventoryItem"][];
        };
        InventoryItem: {
            sku: string;
            name: string;
            available: number;
            minQuantity: number;
            low: boolean;
        };
        StockLevel: {
            sku: string;
            available: number;
            minQuantity: number;
        };
        MovementPage: {
            items: components["schemas"]["Movement"][];
            nextCursor: string | null;
        };
        Movement: {
            /** Format: date-time */
            at: string;
            delta: number;
            /** @enum {string} */
            reason: "initial" | "sale" | "cancellation" | "restock" | "correction" | "damage" | "return" | "loss";
            orderId: string | null;
            availableAfter: number;
            actor: {
                /** Format: uuid */
                id: string;
                email: string;
            } | null;
            note: string | null;
        };
        Cart: {
            /** Format: uuid */
            id: string;
            /** @enum {string} */
            status: "open" | "checked_out";
            items: components["schemas"]["CartItem"][];
            subtotalCents: number;
            promotion: {
                code: string;
                discountCents: number;
            } | null;
            discountCents: number;
            totalCents: number;
            currency: string;
        };
        CartItem: {
            sku: string;
            name: string;
            quantity: number;
            unitPriceCents: number;
            lineTotalCents: number;
        };
        Order: {
            /** Format: uuid */
            id: string;
            /** @enum {string} */
            status: "awaiting_payment" | "placed" | "on_hold" | "confirmed" | "shipped" | "delivered" | "cancelled";
            /** Format: uuid */
            customerId: string;
            lines: components["schemas"]["OrderLine"][];
            subtotalCents: number;
            discountCents: number;
            promotionCode: string | null;
            totalCents: number;
            currency: string;
            shippingAddress: components["schemas"]["Address"];
            hold: components["schemas"]["OrderHold"] | null;
            payment: components["schemas"]["Payment"];
            shipment: components["schemas"]["Shipment"] | null;
            history: {
                /** @enum {string} */
                status: "awaiting_payment" | "placed" | "on_hold" | "confirmed" | "shipped" | "delivered" | "cancelled";
                /** Format: date-time */
                at: string;
            }[];
            /** Format: date-time */
            createdAt: string;
            /** Format: date-time */
            updatedAt: string;
        };
        OrderLine: {
            sku: string;
            name: string;
            quantity: number;
            unitPriceCents: number;
        };
        Address: {
            name: string;
            line1: string;
            line2?: string;
            city: string;
            postalCode: string;
            country: string;
        };
        OrderHold: {
            /** @constant */
            reason: "SUSPECTED_DUPLICATE";
            /** Format: uuid */
            duplicateOf: string;
            /** Format: uuid */
            releasedBy?: string;
            /** Format: date-time */
            releasedAt?: string;
        };
        Payment: {
            /** @enum {string} */
            method: "store_credit" | "cash_on_delivery" | "card";
            /** @enum {string} */
            status: "pending" | "paid" | "refund_pending" | "refunded" | "cancelled";
            amountCents: number;
            refundedCents: number;
            clientSecret: string | null;
        };
        Shipment: {
            carrier: string;
            trackingNumber: string;
            trackingUrl: string | null;
            /** Format: date-time */
            shippedAt: string;
            deliveredAt: string | null;
        };
        OrderPage: {
            items: components["schemas"]["Order"][];
            nextCursor: string | null;
        };
        Wallet: {
            balanceCents: number;
            currency: string;
            items: components["schemas"]["WalletTransaction"][];
            nextCursor: string | null;
        };
        WalletTransaction: {
            id: number;
            /** Format: date-time */
            at: string;
            amountCents: number;
            /** @enum {string} */
            reason: "top_up" | "goodwill" | "correction" | "order_payment" | "refund";
            orderId: string | null;
            note: string | null;
            balanceAfterCents: number;
        };
        WalletChange: {
            balanceCents: number;
            transaction: components["schemas"]["WalletTransaction"];
        };
    };
    responses: never;
    parameters: never;
    requestBodies: never;
    headers: never;
    pathItems: never;
}
export type $defs = Record<string, never>;
export interface operations {
    "docs.index": {
        parameters: {
            query?: never;
            header?: never;
            path?: never;
            cookie?: never;
        };
        requestBody?: never;
        responses: {
            /** @description Where the API describes itself */
            200: {
                headers: {
                    [name: string]: unknown;
                };
                content: {
                    "application/json": {
                        name: string;
                        version: string;
                        openapi: string;
                        docs: string;
                    };
                };
            };
            /** @description `INTERNAL_ERROR`: a bug; logged with its stack, nothing internal is returned */
            500: {
                headers: {
                    [name: string]: unknown;
                };
                content: {
                    "application/json": {
                        error: {
                            /** @enum {string} */
                            code: "INTERNAL_ERROR";
                            message: string;
                            details?: {
                                [key: string]: unknown;
                            };
                        };
                    };
                };
            };
        };
    };
    "docs.openapi": {
        parameters: {
            query?: never;
            header?: never;
            path?: never;
            cookie?: never;
        };
        requestBody?: never;
        responses: {
            /** @description This API's OpenAPI 3.1 document */
            200: {
                headers: {
                    [name: string]: unknown;
                };
                content: {
                    "application/json": {
                        openapi: string;
                        info: {
                            title: string;
                            version: string;
                        } & {
                            [key: string]: unknown;
                        };
                        paths: {
                            [key: string]: unknown;
                        };
                    } & {
                        [key: string]: unknown;
                    };
                };
            };
            /** @description `INTERNAL_ERROR`: a bug; logged with its stack, nothing internal is returned */
            500: {
                headers: {
                    [name: string]: unknown;
                };
                content: {
                    "application/json": {
                        error: {
                            /** @enum {string} */
                            code: "INTERNAL_ERROR";
                            message: string;
                            details?: {
                                [key: string]: unknown;
                            };
                        };
                    };
                };
            };
        };
    };
    "docs.reference": {
        parameters: {
            query?: never;
            header?: never;
            path?: never;
            cookie?: never;
        };
        requestBody?: never;
        responses: {
            /** @description An interactive reference of this API (Swagger UI) */
            200: {
                headers: {
                    [name: string]: unknown;
                };
                content: {
                    "text/html; charset=utf-8": string;
                };
            };
            /** @description `INTERNAL_ERROR`: a bug; logged with its stack, nothing internal is returned */
            500: {
                headers: {
                    [name: string]: unknown;
                };
                content: {
                    "application/json": {
                        error: {
                            /** @enum {string} */
                            code: "INTERNAL_ERROR";
                            message: string;
                            details?: {
                                [key: string]: unknown;
                            };
                        };
                    };
                };
            };
        };
    };
    "docs.stylesheet": {
        parameters: {
            query?: never;
            header?: never;
            path?: never;
            cookie?: never;
        };
        requestBody?: never;
        responses: {
            /** @description The reference page's stylesheet */
            200: {
                headers: {
                    [name: string]: unknown;
                };
                content: {
                    "text/css; charset=utf-8": string;
                };
            };
            /** @description `INTERNAL_ERROR`: a bug; logged with its stack, nothing internal is returned */
            500: {
                headers: {
                    [name: string]: unknown;
                };
                content: {
                    "application/json": {
                        error: {
                            /** @enum {string} */
                            code: "INTERNAL_ERROR";
                            message: string;
                            details?: {
                                [key: string]: unknown;
                            };
                        };
                    };
                };
            };
        };
    };
    "docs.script": {
        parameters: {
            query?: never;
            header?: never;
            path?: never;
            cookie?: never;
        };
        requestBody?: never;
        responses: {
            /** @description The reference page's script */
            200: {
                headers: {
                    [name: string]: unknown;
                };
                content: {
                    "text/javascript; charset=utf-8": string;
                };
            };
            /** @description `INTERNAL_ERROR`: a bug; logged with its stack, nothing internal is returned */
            500: {
                headers: {
                    [name: string]: unknown;
                };
                content: {
                    "application/json": {
                        error: {
                            /** @enum {string} */
                            code: "INTERNAL_ERROR";
                            message: string;
                            details?: {
                                [key: string]: unknown;
                            };
                        };
                    };
                };
            };
        };
    };
    "health.check": {
        parameters: {
            query?: never;
            header?: never;
            path?: never;
            cookie?: never;
        };
        requestBody?: never;
        responses: {
            /** @description Whether the API and its database answer */
            200: {
                headers: {
                    [name: string]: unknown;
                };
                content: {
                    /**
                     * @example {
                     *       "status": "ok"
                     *     }
                     */
                    "application/json": {
                        /** @constant */
                        status: "ok";
                    };
                };
            };
            /** @description `INTERNAL_ERROR`: a bug; logged with its stack, nothing internal is returned */
            500: {
                headers: {
                    [name: string]: unknown;
                };
                content: {
                    "application/json": {
                        error: {
                            /** @enum {string} */
                            code: "INTERNAL_ERROR";
                            message: string;
                            details?: {
                                [key: string]: unknown;
                            };
                        };
                    };
                };
            };
            /** @description `SERVICE_UNAVAILABLE`: the database cannot be reached, or the connection was lost during the request, which may or may not have taken effect; retry (checkout with the same `Idempotency-Key` returns the order if the first attempt created it) */
            503: {
                headers: {
                    [name: string]: unknown;
                };
                content: {
                    "application/json": {
                        error: {
                            /** @enum {string} */
                            code: "SERVICE_UNAVAILABLE";
                            message: string;
                            details?: {
                                [key: string]: unknown;
                            };
                        };
                    };
                };
            };
        };
    };
    "auth.register": {
        parameters: {
            query?: never;
            header?: never;
            path?: never;
            cookie?: never;
        };
        requestBody: {
            content: {
                /**
                 * @example {
                 *       "email": "ann@example.com",
                 *       "password": "a long passphrase",
                 *       "name": "Ann"
                 *     }
                 */
                "application/json": {
                    email: string;
                    password: string;
                    name: string;
                };
            };
        };
        responses: {
            /** @description Create a customer account and sign in */
            201: {
                headers: {
                    [name: string]: unknown;
                };
                content: {
                    /**
                     * @example {
                     *       "user": {
                     *         "id": "0b6f3c1e-8d2a-4f6b-9c7e-5a4d3b2c1e0f",
                     *         "email": "ann@example.com",
                     *         "name": "Ann Example",
                     *         "role": "customer",
                     *         "createdAt": "2026-11-30T08:00:00.000Z"
                     *       },
                     *       "token": "eyJhbGciOiJIUzI1NiIsInR5cCI6IkpXVCJ9.eyJzdWIiOiIuLi4ifQ.c2lnbmF0dXJl",
                     *       "refreshToken": "rt_Qm9vWm9vLWFuLW9wYXF1ZS0yNTYtYml0LXRva2VuLi4u",
                     *       "expiresInSeconds": 900
                     *     }
                     */
                    "application/json": components["schemas"]["Session"];
                };
            };
            /**
             * @description `VALIDATION_FAILED`: a path, query, header or body field is missing, of the wrong type, out of range, too long, unknown (bodies reject unknown fields), or a string holds NUL or unpaired surrogates; `details: {in, issues: [{path, message}]}`
             *
             *     `MALFORMED_JSON`: the body is not JSON
             *
             *     `UNSUPPORTED_MEDIA_TYPE`: a body with a content-type other than JSON, or with a content-encoding (gzip, ...)
             *
             *     `WEAK_PASSWORD`: register, `POST /staff`, `POST /auth/password-reset/confirm` or `POST /me/password` with a password zxcvbn scores below 3 of 4 (common passwords, dictionary words, keyboard walks, repeats, dates, the account's own email or name); `details: {warning, suggestions}` say why in English (`warning` may be null); nothing changed, a reset token stays usable
             */
            400: {
                headers: {
                    [name: string]: unknown;
                };
                content: {
                    "application/json": {
                        error: {
                            /** @enum {string} */
                            code: "VALIDATION_FAILED" | "MALFORMED_JSON" | "UNSUPPORTED_MEDIA_TYPE" | "WEAK_PASSWORD";
                            message: string;
                            details?: {
                                [key: string]: unknown;
                            };
                        };
                    };
                };
            };
            /** @description `EMAIL_TAKEN`: register or staff creation with an email in use (case-insensitive) */
            409: {
                headers: {
                    [name: string]: unknown;
                };
                content: {
                    "application/json": {
                        error: {
                            /** @enum {string} */
                            code: "EMAIL_TAKEN";
                            message: string;
                            details?: {
                                [key: string]: unknown;
                            };
                        };
                    };
                };
            };
            /** @description `BODY_TOO_LARGE`: a body over `MAX_BODY_BYTES` (64 KiB) */
            413: {
                headers: {
                    [name: string]: unknown;
                };
                content: {
                    "application/json": {
                        error: {
                            /** @enum {string} */
                            code: "BODY_TOO_LARGE";
                            message: string;
                            details?: {
                                [key: string]: unknown;
                            };
                        };
                    };
                };
            };
            /** @description `TOO_MANY_ATTEMPTS`: more failed logins than `LOGIN_FAILURES_PER_EMAIL` (5) for one email or `LOGIN_FAILURES_PER_ADDRESS` (20) from one source address in 15 minutes, more registrations than `REGISTRATIONS_PER_ADDRESS_PER_HOUR` (50) from one address in an hour, more password-reset requests than `RESET_REQUESTS_PER_EMAIL_PER_HOUR` (3) for one email in an hour; no password is checked; `Retry-After` and `details: {retryAfterSeconds}` say when one more is let through */
            429: {
                headers: {
                    [name: string]: unknown;
                };
                content: {
                    "application/json": {
                        error: {
                            /** @enum {string} */
                            code: "TOO_MANY_ATTEMPTS";
                            message: string;
                            details?: {
                                [key: string]: unknown;
                            };
                        };
                    };
                };
            };
            /** @description `INTERNAL_ERROR`: a bug; logged with its stack, nothing internal is returned */
            500: {
                headers: {
                    [name: string]: unknown;
                };
                content: {
                    "application/json": {
                        error: {
                            /** @enum {string} */
                            code: "INTERNAL_ERROR";
                            message: string;
                            details?: {
                                [key: string]: unknown;
                            };
                        };
                    };
                };
            };
            /** @description `SERVICE_UNAVAILABLE`: the database cannot be reached, or the connection was lost during the request, which may or may not have taken effect; retry (checkout with the same `Idempotency-Key` returns the order if the first attempt created it) */
            503: {
                headers: {
                    [name: string]: unknown;
                };
                content: {
                    "application/json": {
                        error: {
                            /** @enum {string} */
                            code: "SERVICE_UNAVAILABLE";
                            message: string;
                            details?: {
                                [key: string]: unknown;
                            };
                        };
                    };
                };
            };
        };
    };
    "auth.login": {
        parameters: {
            query?: never;
            header?: never;
            path?: never;
            cookie?: never;
        };
        requestBody: {
            content: {
                /**
                 * @example {
                 *       "email": "ann@example.com",
                 *       "password": "a long passphrase"
                 *     }
                 */
                "application/json": {
                    email: string;
                    password: string;
                };
            };
        };
        responses: {
            /** @description Sign in with email and password */
            200: {
                headers: {
                    [name: string]: unknown;
                };
                content: {
                    /**
                     * @example {
                     *       "user": {
                     *         "id": "0b6f3c1e-8d2a-4f6b-9c7e-5a4d3b2c1e0f",
                     *         "email": "ann@example.com",
                     *         "name": "Ann Example",
                     *         "role": "customer",
                     *         "createdAt": "2026-11-30T08:00:00.000Z"
                     *       },
                     *       "token": "eyJhbGciOiJIUzI1NiIsInR5cCI6IkpXVCJ9.eyJzdWIiOiIuLi4ifQ.c2lnbmF0dXJl",
                     *       "refreshToken": "rt_Qm9vWm9vLWFuLW9wYXF1ZS0yNTYtYml0LXRva2VuLi4u",
                     *       "expiresInSeconds": 900
                     *     }
                     */
                    "application/json": components["schemas"]["Session"];
                };
            };
            /**
             * @description `VALIDATION_FAILED`: a path, query, header or body field is missing, of the wrong type, out of range, too long, unknown (bodies reject unknown fields), or a string holds NUL or unpaired surrogates; `details: {in, issues: [{path, message}]}`
             *
             *     `MALFORMED_JSON`: the body is not JSON
             *
             *     `UNSUPPORTED_MEDIA_TYPE`: a body with a content-type other than JSON, or with a content-encoding (gzip, ...)
             */
            400: {
                headers: {
                    [name: string]: unknown;
                };
                content: {
                    "application/json": {
                        error: {
                            /** @enum {string} */
                            code: "VALIDATION_FAILED" | "MALFORMED_JSON" | "UNSUPPORTED_MEDIA_TYPE";
                            message: string;
                            details?: {
                                [key: string]: unknown;
                            };
                        };
                    };
                };
            };
            /** @description `INVALID_CREDENTIALS`: login with an unknown email, a wrong password or a disabled account (the same answer for all three); `POST /me/password` with a wrong `currentPassword` */
            401: {
                headers: {
                    [name: string]: unknown;
                };
                content: {
                    "application/json": {
                        error: {
                            /** @enum {string} */
                            code: "INVALID_CREDENTIALS";
                            message: string;
                            details?: {
                                [key: string]: unknown;
                            };
                        };
                    };
                };
            };
            /** @description `BODY_TOO_LARGE`: a body over `MAX_BODY_BYTES` (64 KiB) */
            413: {
                headers: {
                    [name: string]: unknown;
                };
                content: {
                    "application/json": {
                        error: {
                            /** @enum {string} */
                            code: "BODY_TOO_LARGE";
                            message: string;
                            details?: {
                                [key: string]: unknown;
                            };
                        };
                    };
                };
            };
            /** @description `TOO_MANY_ATTEMPTS`: more failed logins than `LOGIN_FAILURES_PER_EMAIL` (5) for one email or `LOGIN_FAILURES_PER_ADDRESS` (20) from one source address in 15 minutes, more registrations than `REGISTRATIONS_PER_ADDRESS_PER_HOUR` (50) from one address in an hour, more password-reset requests than `RESET_REQUESTS_PER_EMAIL_PER_HOUR` (3) for one email in an hour; no password is checked; `Retry-After` and `details: {retryAfterSeconds}` say when one more is let through */
            429: {
                headers: {
                    [name: string]: unknown;
                };
                content: {
                    "application/json": {
                        error: {
                            /** @enum {string} */
                            code: "TOO_MANY_ATTEMPTS";
                            message: string;
                            details?: {
                                [key: string]: unknown;
                            };
                        };
                    };
                };
            };
            /** @description `INTERNAL_ERROR`: a bug; logged with its stack, nothing internal is returned */
            500: {
                headers: {
                    [name: string]: unknown;
                };
                content: {
                    "application/json": {
                        error: {
                            /** @enum {string} */
                            code: "INTERNAL_ERROR";
                            message: string;
                            details?: {
                                [key: string]: unknown;
                            };
                        };
                    };
                };
            };
            /** @description `SERVICE_UNAVAILABLE`: the database cannot be reached, or the connection was lost during the request, which may or may not have taken effect; retry (checkout with the same `Idempotency-Key` returns the order if the first attempt created it) */
            503: {
                headers: {
                    [name: string]: unknown;
                };
                content: {
                    "application/json": {
                        error: {
                            /** @enum {string} */
                            code: "SERVICE_UNAVAILABLE";
                            message: string;
                            details?: {
                                [key: string]: unknown;
                            };
                        };
                    };
                };
            };
        };
    };
    "auth.refresh": {
        parameters: {
            query?: never;
            header?: never;
            path?: never;
            cookie?: never;
        };
        requestBody: {
            content: {
                /**
                 * @example {
                 *       "refreshToken": "rt_Qm9vWm9vLWFuLW9wYXF1ZS0yNTYtYml0LXRva2VuLi4u"
                 *     }
                 */
                "application/json": {
                    refreshToken: string;
                };
            };
        };
        responses: {
            /** @description Exchange a refresh token for a new access token and the next refresh token */
            200: {
                headers: {
                    [name: string]: unknown;
                };
                content: {
                    /**
                     * @example {
                     *       "token": "eyJhbGciOiJIUzI1NiIsInR5cCI6IkpXVCJ9.eyJzdWIiOiIuLi4ifQ.c2lnbmF0dXJl",
                     *       "refreshToken": "rt_Qm9vWm9vLWFuLW9wYXF1ZS0yNTYtYml0LXRva2VuLi4u",
                     *       "expiresInSeconds": 900
                     *     }
                     */
                    "application/json": components["schemas"]["TokenPair"];
                };
            };
            /**
             * @description `VALIDATION_FAILED`: a path, query, header or body field is missing, of the wrong type, out of range, too long, unknown (bodies reject unknown fields), or a string holds NUL or unpaired surrogates; `details: {in, issues: [{path, message}]}`
             *
             *     `MALFORMED_JSON`: the body is not JSON
             *
             *     `UNSUPPORTED_MEDIA_TYPE`: a body with a content-type other than JSON, or with a content-encoding (gzip, ...)
             */
            400: {
                headers: {
                    [name: string]: unknown;
                };
                content: {
                    "application/json": {
                        error: {
                            /** @enum {string} */
                            code: "VALIDATION_FAILED" | "MALFORMED_JSON" | "UNSUPPORTED_MEDIA_TYPE";
                            message: string;
                            details?: {
                                [key: string]: unknown;
                            };
                        };
                    };
                };
            };
            /**
             * @description `UNAUTHENTICATED`: protected route without a token, or a malformed, forged or expired one
             *
             *     `REFRESH_TOKEN_REUSED`: `POST /auth/refresh` with a refresh token that was already exchanged: it was copied, so every token of that login is revoked and the user signs in again
             */
            401: {
                headers: {
                    [name: string]: unknown;
                };
                content: {
                    "application/json": {
                        error: {
                            /** @enum {string} */
                            code: "UNAUTHENTICATED" | "REFRESH_TOKEN_REUSED";
                            message: string;
                            details?: {
                                [key: string]: unknown;
                            };
                        };
                    };
                };
            };
            /** @description `BODY_TOO_LARGE`: a body over `MAX_BODY_BYTES` (64 KiB) */
            413: {
                headers: {
                    [name: string]: unknown;
                };
                content: {
                    "application/json": {
                        error: {
                            /** @enum {string} */
                            code: "BODY_TOO_LARGE";
                            message: string;
                            details?: {
                                [key: string]: unknown;
                            };
                        };
                    };
                };
            };
            /** @description `INTERNAL_ERROR`: a bug; logged with its stack, nothing internal is returned */
            500: {
                headers: {
                    [name: string]: unknown;
                };
                content: {
                    "application/json": {
                        error: {
                            /** @enum {string} */
                            code: "INTERNAL_ERROR";
                            message: string;
                            details?: {
                                [key: string]: unknown;
                            };
                        };
                    };
                };
            };
            /** @description `SERVICE_UNAVAILABLE`: the database cannot be reached, or the connection was lost during the request, which may or may not have taken effect; retry (checkout with the same `Idempotency-Key` returns the order if the first attempt created it) */
            503: {
                headers: {
                    [name: string]: unknown;
                };
                content: {
                    "application/json": {
                        error: {
                            /** @enum {string} */
                            code: "SERVICE_UNAVAILABLE";
                            message: string;
                            details?: {
                                [key: string]: unknown;
                            };
                        };
                    };
                };
            };
        };
    };
    "auth.logout": {
        parameters: {
            query?: never;
            header?: never;
            path?: never;
            cookie?: never;
        };
        requestBody: {
            content: {
                /**
                 * @example {
                 *       "refreshToken": "rt_Qm9vWm9vLWFuLW9wYXF1ZS0yNTYtYml0LXRva2VuLi4u"
                 *     }
                 */
                "application/json": {
                    refreshToken: string;
                };
            };
        };
        responses: {
            /** @description End the login of a refresh token */
            204: {
                headers: {
                    [name: string]: unknown;
                };
                content?: never;
            };
            /**
             * @description `VALIDATION_FAILED`: a path, query, header or body field is missing, of the wrong type, out of range, too long, unknown (bodies reject unknown fields), or a string holds NUL or unpaired surrogates; `details: {in, issues: [{path, message}]}`
             *
             *     `MALFORMED_JSON`: the body is not JSON
             *
             *     `UNSUPPORTED_MEDIA_TYPE`: a body with a content-type other than JSON, or with a content-encoding (gzip, ...)
             */
            400: {
                headers: {
                    [name: string]: unknown;
                };
                content: {
                    "application/json": {
                        error: {
                            /** @enum {string} */
                            code: "VALIDATION_FAILED" | "MALFORMED_JSON" | "UNSUPPORTED_MEDIA_TYPE";
                            message: string;
                            details?: {
                                [key: string]: unknown;
                            };
                        };
                    };
                };
            };
            /** @description `BODY_TOO_LARGE`: a body over `MAX_BODY_BYTES` (64 KiB) */
            413: {
                headers: {
                    [name: string]: unknown;
                };
                content: {
                    "application/json": {
                        error: {
                            /** @enum {string} */
                            code: "BODY_TOO_LARGE";
                            message: string;
                            details?: {
                                [key: string]: unknown;
                            };
                        };
                    };
                };
            };
            /** @description `INTERNAL_ERROR`: a bug; logged with its stack, nothing internal is returned */
            500: {
                headers: {
                    [name: string]: unknown;
                };
                content: {
                    "application/json": {
                        error: {
                            /** @enum {string} */
                            code: "INTERNAL_ERROR";
                            message: string;
                            details?: {
                                [key: string]: unknown;
                            };
                        };
                    };
                };
            };
            /** @description `SERVICE_UNAVAILABLE`: the database cannot be reached, or the connection was lost during the request, which may or may not have taken effect; retry (checkout with the same `Idempotency-Key` returns the order if the first attempt created it) */
            503: {
                headers: {
                    [name: string]: unknown;
                };
                content: {
                    "application/json": {
                        error: {
                            /** @enum {string} */
                            code: "SERVICE_UNAVAILABLE";
                            message: string;
                            details?: {
                                [key: string]: unknown;
                            };
                        };
                    };
                };
            };
        };
    };
    "auth.requestPasswordReset": {
        parameters: {
            query?: never;
            header?: never;
            path?: never;
            cookie?: never;
        };
        requestBody: {
            content: {
                "application/json": {
                    email: string;
                };
            };
        };
        responses: {
            /** @description Email a single-use link to reset the password (the same answer whether or not the account exists) */
            202: {
                headers: {
                    [name: string]: unknown;
                };
                content: {
                    "application/json": {
                        message: string;
                    };
                };
            };
            /**
             * @description `VALIDATION_FAILED`: a path, query, header or body field is missing, of the wrong type, out of range, too long, unknown (bodies reject unknown fields), or a string holds NUL or unpaired surrogates; `details: {in, issues: [{path, message}]}`
             *
             *     `MALFORMED_JSON`: the body is not JSON
             *
             *     `UNSUPPORTED_MEDIA_TYPE`: a body with a content-type other than JSON, or with a content-encoding (gzip, ...)
             */
            400: {
                headers: {
                    [name: string]: unknown;
                };
                content: {
                    "application/json": {
                        error: {
                            /** @enum {string} */
                            code: "VALIDATION_FAILED" | "MALFORMED_JSON" | "UNSUPPORTED_MEDIA_TYPE";
                            message: string;
                            details?: {
                                [key: string]: unknown;
                            };
                        };
                    };
                };
            };
            /** @description `BODY_TOO_LARGE`: a body over `MAX_BODY_BYTES` (64 KiB) */
            413: {
                headers: {
                    [name: string]: unknown;
                };
                content: {
                    "application/json": {
                        error: {
                            /** @enum {string} */
                            code: "BODY_TOO_LARGE";
                            message: string;
                            details?: {
                                [key: string]: unknown;
                            };
                        };
                    };
                };
            };
            /** @description `TOO_MANY_ATTEMPTS`: more failed logins than `LOGIN_FAILURES_PER_EMAIL` (5) for one email or `LOGIN_FAILURES_PER_ADDRESS` (20) from one source address in 15 minutes, more registrations than `REGISTRATIONS_PER_ADDRESS_PER_HOUR` (50) from one address in an hour, more password-reset requests than `RESET_REQUESTS_PER_EMAIL_PER_HOUR` (3) for one email in an hour; no password is checked; `Retry-After` and `details: {retryAfterSeconds}` say when one more is let through */
            429: {
                headers: {
                    [name: string]: unknown;
                };
                content: {
                    "application/json": {
                        error: {
                            /** @enum {string} */
                            code: "TOO_MANY_ATTEMPTS";
                            message: string;
                            details?: {
                                [key: string]: unknown;
                            };
                        };
                    };
                };
            };
            /** @description `INTERNAL_ERROR`: a bug; logged with its stack, nothing internal is returned */
            500: {
                headers: {
                    [name: string]: unknown;
                };
                content: {
                    "application/json": {
                        error: {
                            /** @enum {string} */
                            code: "INTERNAL_ERROR";
                            message: string;
                            details?: {
                                [key: string]: unknown;
                            };
                        };
                    };
                };
            };
            /** @description `SERVICE_UNAVAILABLE`: the database cannot be reached, or the connection was lost during the request, which may or may not have taken effect; retry (checkout with the same `Idempotency-Key` returns the order if the first attempt created it) */
            503: {
                headers: {
                    [name: string]: unknown;
                };
                content: {
                    "application/json": {
                        error: {
                            /** @enum {string} */
                            code: "SERVICE_UNAVAILABLE";
                            message: string;
                            details?: {
                                [key: string]: unknown;
                            };
                        };
                    };
                };
            };
        };
    };
    "auth.confirmPasswordReset": {
        parameters: {
            query?: never;
            header?: never;
            path?: never;
            cookie?: never;
        };
        requestBody: {
            content: {
                "application/json": {
                    token: string;
                    password: string;
                };
            };
        };
        responses: {
            /** @description Set a new password with the emailed token, ending every login, and sign in */
            200: {
                headers: {
                    [name: string]: unknown;
                };
                content: {
                    "application/json": components["schemas"]["Session"];
                };
            };
            /**
             * @description `VALIDATION_FAILED`: a path, query, header or body field is missing, of the wrong type, out of range, too long, unknown (bodies reject unknown fields), or a string holds NUL or unpaired surrogates; `details: {in, issues: [{path, message}]}`
             *
             *     `MALFORMED_JSON`: the body is not JSON
             *
             *     `UNSUPPORTED_MEDIA_TYPE`: a body with a content-type other than JSON, or with a content-encoding (gzip, ...)
             *
             *     `WEAK_PASSWORD`: register, `POST /staff`, `POST /auth/password-reset/confirm` or `POST /me/password` with a password zxcvbn scores below 3 of 4 (common passwords, dictionary words, keyboard walks, repeats, dates, the account's own email or name); `details: {warning, suggestions}` say why in English (`warning` may be null); nothing changed, a reset token stays usable
             *
             *     `INVALID_RESET_TOKEN`: `POST /auth/password-reset/confirm` with a token that was used, is older than 30 minutes, is unknown, or belongs to a disabled account; nothing changed
             */
            400: {
                headers: {
                    [name: string]: unknown;
                };
                content: {
                    "application/json": {
                        error: {
                            /** @enum {string} */
                            code: "VALIDATION_FAILED" | "MALFORMED_JSON" | "UNSUPPORTED_MEDIA_TYPE" | "WEAK_PASSWORD" | "INVALID_RESET_TOKEN";
                            message: string;
                            details?: {
                                [key: string]: unknown;
                            };
                        };
                    };
                };
            };
            /** @description `BODY_TOO_LARGE`: a body over `MAX_BODY_BYTES` (64 KiB) */
            413: {
                headers: {
                    [name: string]: unknown;
                };
                content: {
                    "application/json": {
                        error: {
                            /** @enum {string} */
                            code: "BODY_TOO_LARGE";
                            message: string;
                            details?: {
                                [key: string]: unknown;
                            };
                        };
                    };
                };
            };
            /** @description `INTERNAL_ERROR`: a bug; logged with its stack, nothing internal is returned */
            500: {
                headers: {
                    [name: string]: unknown;
                };
                content: {
                    "application/json": {
                        error: {
                            /** @enum {string} */
                            code: "INTERNAL_ERROR";
                            message: string;
                            details?: {
                                [key: string]: unknown;
                            };
                        };
                    };
                };
            };
            /** @description `SERVICE_UNAVAILABLE`: the database cannot be reached, or the connection was lost during the request, which may or may not have taken effect; retry (checkout with the same `Idempotency-Key` returns the order if the first attempt created it) */
            503: {
                headers: {
                    [name: string]: unknown;
                };
                content: {
                    "application/json": {
                        error: {
                            /** @enum {string} */
                            code: "SERVICE_UNAVAILABLE";
                            message: string;
                            details?: {
                                [key: string]: unknown;
                            };
                        };
                    };
                };
            };
        };
    };
    "me.get": {
        parameters: {
            query?: never;
            header?: never;
            path?: never;
            cookie?: never;
        };
        requestBody?: never;
        responses: {
            /** @description The caller's account */
            200: {
                headers: {
                    [name: string]: unknown;
                };
                content: {
                    /**
                     * @example {
                     *       "id": "0b6f3c1e-8d2a-4f6b-9c7e-5a4d3b2c1e0f",
                     *       "email": "ann@example.com",
                     *       "name": "Ann Example",
                     *       "role": "customer",
                     *       "createdAt": "2026-11-30T08:00:00.000Z"
                     *     }
                     */
                    "application/json": components["schemas"]["User"];
                };
            };
            /** @description `UNAUTHENTICATED`: protected route without a token, or a malformed, forged or expired one */
            401: {
                headers: {
                    [name: string]: unknown;
                };
                content: {
                    "application/json": {
                        error: {
                            /** @enum {string} */
                            code: "UNAUTHENTICATED";
                            message: string;
                            details?: {
                                [key: string]: unknown;
                            };
                        };
                    };
                };
            };
            /** @description `INTERNAL_ERROR`: a bug; logged with its stack, nothing internal is returned */
            500: {
                headers: {
                    [name: string]: unknown;
                };
                content: {
                    "application/json": {
                        error: {
                            /** @enum {string} */
                            code: "INTERNAL_ERROR";
                            message: string;
                            details?: {
                                [key: string]: unknown;
                            };
                        };
                    };
                };
            };
            /** @description `SERVICE_UNAVAILABLE`: the database cannot be reached, or the connection was lost during the request, which may or may not have taken effect; retry (checkout with the same `Idempotency-Key` returns the order if the first attempt created it) */
            503: {
                headers: {
                    [name: string]: unknown;
                };
                content: {
                    "application/json": {
                        error: {
                            /** @enum {string} */
                            code: "SERVICE_UNAVAILABLE";
                            message: string;
                            details?: {
                                [key: string]: unknown;
                            };
                        };
                    };
                };
            };
        };
    };
    "me.update": {
        parameters: {
            query?: never;
            header?: never;
            path?: never;
            cookie?: never;
        };
        requestBody: {
            content: {
                /**
                 * @example {
                 *       "name": "Ann Example"
                 *     }
                 */
                "application/json": {
                    name: string;
                };
            };
        };
        responses: {
            /** @description Change the caller's name */
            200: {
                headers: {
                    [name: string]: unknown;
                };
                content: {
                    /**
                     * @example {
                     *       "id": "0b6f3c1e-8d2a-4f6b-9c7e-5a4d3b2c1e0f",
                     *       "email": "ann@example.com",
                     *       "name": "Ann Example",
                     *       "role": "customer",
                     *       "createdAt": "2026-11-30T08:00:00.000Z"
                     *     }
                     */
                    "application/json": components["schemas"]["User"];
                };
            };
            /**
             * @description `VALIDATION_FAILED`: a path, query, header or body field is missing, of the wrong type, out of range, too long, unknown (bodies reject unknown fields), or a string holds NUL or unpaired surrogates; `details: {in, issues: [{path, message}]}`
             *
             *     `MALFORMED_JSON`: the body is not JSON
             *
             *     `UNSUPPORTED_MEDIA_TYPE`: a body with a content-type other than JSON, or with a content-encoding (gzip, ...)
             */
            400: {
                headers: {
                    [name: string]: unknown;
                };
                content: {
                    "application/json": {
                        error: {
                            /** @enum {string} */
                            code: "VALIDATION_FAILED" | "MALFORMED_JSON" | "UNSUPPORTED_MEDIA_TYPE";
                            message: string;
                            details?: {
                                [key: string]: unknown;
                            };
                        };
                    };
                };
            };
            /** @description `UNAUTHENTICATED`: protected route without a token, or a malformed, forged or expired one */
            401: {
                headers: {
                    [name: string]: unknown;
                };
                content: {
                    "application/json": {
                        error: {
                            /** @enum {string} */
                            code: "UNAUTHENTICATED";
                            message: string;
                            details?: {
                                [key: string]: unknown;
                            };
                        };
                    };
                };
            };
            /** @description `BODY_TOO_LARGE`: a body over `MAX_BODY_BYTES` (64 KiB) */
            413: {
                headers: {
                    [name: string]: unknown;
                };
                content: {
                    "application/json": {
                        error: {
                            /** @enum {string} */
                            code: "BODY_TOO_LARGE";
                            message: string;
                            details?: {
                                [key: string]: unknown;
                            };
                        };
                    };
                };
            };
            /** @description `INTERNAL_ERROR`: a bug; logged with its stack, nothing internal is returned */
            500: {
                headers: {
                    [name: string]: unknown;
                };
                content: {
                    "application/json": {
                        error: {
                            /** @enum {string} */
                            code: "INTERNAL_ERROR";
                            message: string;
                            details?: {
                                [key: string]: unknown;
                            };
                        };
                    };
                };
            };
            /** @description `SERVICE_UNAVAILABLE`: the database cannot be reached, or the connection was lost during the request, which may or may not have taken effect; retry (checkout with the same `Idempotency-Key` returns the order if the first attempt created it) */
            503: {
                headers: {
                    [name: string]: unknown;
                };
                content: {
                    "application/json": {
                        error: {
                            /** @enum {string} */
                            code: "SERVICE_UNAVAILABLE";
                            message: string;
                            details?: {
                                [key: string]: unknown;
                            };
                        };
                    };
                };
            };
        };
    };
    "me.changePassword": {
        parameters: {
            query?: never;
            header?: never;
            path?: never;
            cookie?: never;
        };
        requestBody: {
            content: {
                /**
                 * @example {
                 *       "currentPassword": "a long passphrase",
                 *       "newPassword": "another long password"
                 *     }
                 */
                "application/json": {
                    currentPassword: string;
                    newPassword: string;
                };
            };
        };
        responses: {
            /** @description Change the caller's password, ending every other login of theirs */
            204: {
                headers: {
                    [name: string]: unknown;
                };
                content?: never;
            };
            /**
             * @description `VALIDATION_FAILED`: a path, query, header or body field is missing, of the wrong type, out of range, too long, unknown (bodies reject unknown fields), or a string holds NUL or unpaired surrogates; `details: {in, issues: [{path, message}]}`
             *
             *     `MALFORMED_JSON`: the body is not JSON
             *
             *     `UNSUPPORTED_MEDIA_TYPE`: a body with a content-type other than JSON, or with a content-encoding (gzip, ...)
             *
             *     `WEAK_PASSWORD`: register, `POST /staff`, `POST /auth/password-reset/confirm` or `POST /me/password` with a password zxcvbn scores below 3 of 4 (common passwords, dictionary words, keyboard walks, repeats, dates, the account's own email or name); `details: {warning, suggestions}` say why in English (`warning` may be null); nothing changed, a reset token stays usable
             */
            400: {
                headers: {
                    [name: string]: unknown;
                };
                content: {
                    "application/json": {
                        error: {
                            /** @enum {string} */
                            code: "VALIDATION_FAILED" | "MALFORMED_JSON" | "UNSUPPORTED_MEDIA_TYPE" | "WEAK_PASSWORD";
                            message: string;
                            details?: {
                                [key: string]: unknown;
                            };
                        };
                    };
                };
            };
            /**
             * @description `UNAUTHENTICATED`: protected route without a token, or a malformed, forged or expired one
             *
             *     `INVALID_CREDENTIALS`: login with an unknown email, a wrong password or a disabled account (the same answer for all three); `POST /me/password` with a wrong `currentPassword`
             */
            401: {
                headers: {
                    [name: string]: unknown;
                };
                content: {
                    "application/json": {
                        error: {
                            /** @enum {string} */
                            code: "UNAUTHENTICATED" | "INVALID_CREDENTIALS";
                            message: string;
                            details?: {
                                [key: string]: unknown;
                            };
                        };
                    };
                };
            };
            /** @description `BODY_TOO_LARGE`: a body over `MAX_BODY_BYTES` (64 KiB) */
            413: {
                headers: {
                    [name: string]: unknown;
                };
                content: {
                    "application/json": {
                        error: {
                            /** @enum {string} */
                            code: "BODY_TOO_LARGE";
                            message: string;
                            details?: {
                                [key: string]: unknown;
                            };
                        };
                    };
                };
            };
            /** @description `INTERNAL_ERROR`: a bug; logged with its stack, nothing internal is returned */
            500: {
                headers: {
                    [name: string]: unknown;
                };
                content: {
                    "application/json": {
                        error: {
                            /** @enum {string} */
                            code: "INTERNAL_ERROR";
                            message: string;
                            details?: {
                                [key: string]: unknown;
                            };
                        };
                    };
                };
            };
            /** @description `SERVICE_UNAVAILABLE`: the database cannot be reached, or the connection was lost during the request, which may or may not have taken effect; retry (checkout with the same `Idempotency-Key` returns the order if the first attempt created it) */
            503: {
                headers: {
                    [name: string]: unknown;
                };
                content: {
                    "application/json": {
                        error: {
                            /** @enum {string} */
                            code: "SERVICE_UNAVAILABLE";
                            message: string;
                            details?: {
                                [key: string]: unknown;
                            };
                        };
                    };
                };
            };
        };
    };
    "staff.list": {
        parameters: {
            query?: never;
            header?: never;
            path?: never;
            cookie?: never;
        };
        requestBody?: never;
        responses: {
            /** @description Every staff account, with whether it is disabled */
            200: {
                headers: {
                    [name: string]: unknown;
                };
                content: {
                    "application/json": {
                        items: {
                            /** Format: uuid */
                            id: string;
                            email: string;
                            name: string;
                            /** @enum {string} */
                            role: "customer" | "stock_manager" | "ops" | "admin";
                            /** Format: date-time */
                            createdAt: string;
                            disabled: boolean;
                        }[];
                    };
                };
            };
            /** @description `UNAUTHENTICATED`: protected route without a token, or a malformed, forged or expired one */
            401: {
                headers: {
                    [name: string]: unknown;
                };
                content: {
                    "application/json": {
                        error: {
                            /** @enum {string} */
                            code: "UNAUTHENTICATED";
                            message: string;
                            details?: {
                                [key: string]: unknown;
                            };
                        };
                    };
                };
            };
            /** @description `FORBIDDEN`: a valid token whose role may not do this */
            403: {
                headers: {
                    [name: string]: unknown;
                };
                content: {
                    "application/json": {
                        error: {
                            /** @enum {string} */
                            code: "FORBIDDEN";
                            message: string;
                            details?: {
                                [key: string]: unknown;
                            };
                        };
                    };
                };
            };
            /** @description `INTERNAL_ERROR`: a bug; logged with its stack, nothing internal is returned */
            500: {
                headers: {
                    [name: string]: unknown;
                };
                content: {
                    "application/json": {
                        error: {
                            /** @enum {string} */
                            code: "INTERNAL_ERROR";
                            message: string;
                            details?: {
                                [key: string]: unknown;
                            };
                        };
                    };
                };
            };
            /** @description `SERVICE_UNAVAILABLE`: the database cannot be reached, or the connection was lost during the request, which may or may not have taken effect; retry (checkout with the same `Idempotency-Key` returns the order if the first attempt created it) */
            503: {
                headers: {
                    [name: string]: unknown;
                };
                content: {
                    "application/json": {
                        error: {
                            /** @enum {string} */
                            code: "SERVICE_UNAVAILABLE";
                            message: string;
                            details?: {
                                [key: string]: unknown;
                            };
                        };
                    };
                };
            };
        };
    };
    "staff.create": {
        parameters: {
            query?: never;
            header?: never;
            path?: never;
            cookie?: never;
        };
        requestBody: {
            content: {
                /**
                 * @example {
                 *       "email": "sam@example.com",
                 *       "password": "a long passphrase",
                 *       "name": "Sam",
                 *       "role": "stock_manager"
                 *     }
                 */
                "application/json": {
                    email: string;
                    password: string;
                    name: string;
                    /** @enum {string} */
                    role: "stock_manager" | "ops" | "admin";
                };
            };
        };
        responses: {
            /** @description Create a staff account (stock manager, ops or admin) */
            201: {
                headers: {
                    [name: string]: unknown;
                };
                content: {
                    /**
                     * @example {
                     *       "id": "0b6f3c1e-8d2a-4f6b-9c7e-5a4d3b2c1e0f",
                     *       "email": "sam@example.com",
                     *       "name": "Sam",
                     *       "role": "stock_manager",
                     *       "createdAt": "2026-11-30T08:00:00.000Z"
                     *     }
                     */
                    "application/json": components["schemas"]["User"];
                };
            };
            /**
             * @description `VALIDATION_FAILED`: a path, query, header or body field is missing, of the wrong type, out of range, too long, unknown (bodies reject unknown fields), or a string holds NUL or unpaired surrogates; `details: {in, issues: [{path, message}]}`
             *
             *     `MALFORMED_JSON`: the body is not JSON
             *
             *     `UNSUPPORTED_MEDIA_TYPE`: a body with a content-type other than JSON, or with a content-encoding (gzip, ...)
             *
             *     `WEAK_PASSWORD`: register, `POST /staff`, `POST /auth/password-reset/confirm` or `POST /me/password` with a password zxcvbn scores below 3 of 4 (common passwords, dictionary words, keyboard walks, repeats, dates, the account's own email or name); `details: {warning, suggestions}` say why in English (`warning` may be null); nothing changed, a reset token stays usable
             */
            400: {
                headers: {
                    [name: string]: unknown;
                };
                content: {
                    "application/json": {
                        error: {
                            /** @enum {string} */
                            code: "VALIDATION_FAILED" | "MALFORMED_JSON" | "UNSUPPORTED_MEDIA_TYPE" | "WEAK_PASSWORD";
                            message: string;
                            details?: {
                                [key: string]: unknown;
                            };
                        };
                    };
                };
            };
            /** @description `UNAUTHENTICATED`: protected route without a token, or a malformed, forged or expired one */
            401: {
                headers: {
                    [name: string]: unknown;
                };
                content: {
                    "application/json": {
                        error: {
                            /** @enum {string} */
                            code: "UNAUTHENTICATED";
                            message: string;
                            details?: {
                                [key: string]: unknown;
                            };
                        };
                    };
                };
            };
            /** @description `FORBIDDEN`: a valid token whose role may not do this */
            403: {
                headers: {
                    [name: string]: unknown;
                };
                content: {
                    "application/json": {
                        error: {
                            /** @enum {string} */
                            code: "FORBIDDEN";
                            message: string;
                            details?: {
                                [key: string]: unknown;
                            };
                        };
                    };
                };
            };
            /** @description `EMAIL_TAKEN`: register or staff creation with an email in use (case-insensitive) */
            409: {
                headers: {
                    [name: string]: unknown;
                };
                content: {
                    "application/json": {
                        error: {
                            /** @enum {string} */
                            code: "EMAIL_TAKEN";
                            message: string;
                            details?: {
                                [key: string]: unknown;
                            };
                        };
                    };
                };
            };
            /** @description `BODY_TOO_LARGE`: a body over `MAX_BODY_BYTES` (64 KiB) */
            413: {
                headers: {
                    [name: string]: unknown;
                };
                content: {
                    "application/json": {
                        error: {
                            /** @enum {string} */
                            code: "BODY_TOO_LARGE";
                            message: string;
                            details?: {
                                [key: string]: unknown;
                            };
                        };
                    };
                };
            };
            /** @description `INTERNAL_ERROR`: a bug; logged with its stack, nothing internal is returned */
            500: {
                headers: {
                    [name: string]: unknown;
                };
                content: {
                    "application/json": {
                        error: {
                            /** @enum {string} */
                            code: "INTERNAL_ERROR";
                            message: string;
                            details?: {
                                [key: string]: unknown;
                            };
                        };
                    };
                };
            };
            /** @description `SERVICE_UNAVAILABLE`: the database cannot be reached, or the connection was lost during the request, which may or may not have taken effect; retry (checkout with the same `Idempotency-Key` returns the order if the first attempt created it) */
            503: {
                headers: {
                    [name: string]: unknown;
                };
                content: {
                    "application/json": {
                        error: {
                            /** @enum {string} */
                            code: "SERVICE_UNAVAILABLE";
                            message: string;
                            details?: {
                                [key: string]: unknown;
                            };
                        };
                    };
                };
            };
        };
    };
    "staff.update": {
        parameters: {
            query?: never;
            header?: never;
            path: {
                id: string;
            };
            cookie?: never;
        };
        requestBody: {
            content: {
                "application/json": {
                    /** @enum {string} */
                    role?: "customer" | "stock_manager" | "ops" | "admin";
                    disabled?: boolean;
                };
            };
        };
        responses: {
            /** @description Change a user's role or disable them; their logins end at once */
            200: {
                headers: {
                    [name: string]: unknown;
                };
                content: {
                    "application/json": {
                        /** Format: uuid */
                        id: string;
                        email: string;
                        name: string;
                        /** @enum {string} */
                        role: "customer" | "stock_manager" | "ops" | "admin";
                        /** Format: date-time */
                        createdAt: string;
                        disabled: boolean;
                    };
                };
            };
            /**
             * @description `VALIDATION_FAILED`: a path, query, header or body field is missing, of the wrong type, out of range, too long, unknown (bodies reject unknown fields), or a string holds NUL or unpaired surrogates; `details: {in, issues: [{path, message}]}`
             *
             *     `MALFORMED_JSON`: the body is not JSON
             *
             *     `UNSUPPORTED_MEDIA_TYPE`: a body with a content-type other than JSON, or with a content-encoding (gzip, ...)
             *
             *     `MALFORMED_PATH`: the path is not valid percent-encoding
             */
            400: {
                headers: {
                    [name: string]: unknown;
                };
                content: {
                    "application/json": {
                        error: {
                            /** @enum {string} */
                            code: "VALIDATION_FAILED" | "MALFORMED_JSON" | "UNSUPPORTED_MEDIA_TYPE" | "MALFORMED_PATH";
                            message: string;
                            details?: {
                                [key: string]: unknown;
                            };
                        };
                    };
                };
            };
            /** @description `UNAUTHENTICATED`: protected route without a token, or a malformed, forged or expired one */
            401: {
                headers: {
                    [name: string]: unknown;
                };
                content: {
                    "application/json": {
                        error: {
                            /** @enum {string} */
                            code: "UNAUTHENTICATED";
                            message: string;
                            details?: {
                                [key: string]: unknown;
                            };
                        };
                    };
                };
            };
            /** @description `FORBIDDEN`: a valid token whose role may not do this */
            403: {
                headers: {
                    [name: string]: unknown;
                };
                content: {
                    "application/json": {
                        error: {
                            /** @enum {string} */
                            code: "FORBIDDEN";
                            message: string;
                            details?: {
                                [key: string]: unknown;
                            };
                        };
                    };
                };
            };
            /** @description `NOT_FOUND`: no such route, product, cart, order or promotion code, or one that belongs to someone else */
            404: {
                headers: {
                    [name: string]: unknown;
                };
                content: {
                    "application/json": {
                        error: {
                            /** @enum {string} */
                            code: "NOT_FOUND";
                            message: string;
                            details?: {
                                [key: string]: unknown;
                            };
                        };
                    };
                };
            };
            /** @description `LAST_ADMIN`: `PATCH /staff/{id}` that would demote or disable the only active admin; nothing changed */
            409: {
                headers: {
                    [name: string]: unknown;
                };
                content: {
                    "application/json": {
                        error: {
                            /** @enum {string} */
                            code: "LAST_ADMIN";
                            message: string;
                            details?: {
                                [key: string]: unknown;
                            };
                        };
                    };
                };
            };
            /** @description `BODY_TOO_LARGE`: a body over `MAX_BODY_BYTES` (64 KiB) */
            413: {
                headers: {
                    [name: string]: unknown;
                };
                content: {
                    "application/json": {
                        error: {
                            /** @enum {string} */
                            code: "BODY_TOO_LARGE";
                            message: string;
                            details?: {
                                [key: string]: unknown;
                            };
                        };
                    };
                };
            };
            /** @description `INTERNAL_ERROR`: a bug; logged with its stack, nothing internal is returned */
            500: {
                headers: {
                    [name: string]: unknown;
                };
                content: {
                    "application/json": {
                        error: {
                            /** @enum {string} */
                            code: "INTERNAL_ERROR";
                            message: string;
                            details?: {
                                [key: string]: unknown;
                            };
                        };
                    };
                };
            };
            /** @description `SERVICE_UNAVAILABLE`: the database cannot be reached, or the connection was lost during the request, which may or may not have taken effect; retry (checkout with the same `Idempotency-Key` returns the order if the first attempt created it) */
            503: {
                headers: {
                    [name: string]: unknown;
                };
                content: {
                    "application/json": {
                        error: {
                            /** @enum {string} */
                            code: "SERVICE_UNAVAILABLE";
                            message: string;
                            details?: {
                                [key: string]: unknown;
                            };
                        };
                    };
                };
            };
        };
    };
    "products.list": {
        parameters: {
            query?: {
                limit?: number;
                cursor?: string;
                category?: string;
                q?: string;
            };
            header?: never;
            path?: never;
            cookie?: never;
        };
        requestBody?: never;
        responses: {
            /** @description Browse the catalog: by category, by search, a page at a time */
            200: {
                headers: {
                    [name: string]: unknown;
                };
                content: {
                    /**
                     * @example {
                     *       "items": [
                     *         {
                     *           "sku": "TEE-BLK-M",
                     *           "name": "Black T-shirt (M)",
                     *           "description": "Organic cotton, 180 g/m²",
                     *           "priceCents": 1999,
                     *           "currency": "EUR",
                     *           "category": "apparel",
                     *           "imageUrls": [
                     *             "https://cdn.example.com/tee-blk-m.jpg"
                     *           ],
                     *           "attributes": {
                     *             "colour": "black",
                     *             "size": "M"
                     *           },
                     *           "available": 117,
                     *           "maxPerCustomer": null,
                     *           "availableFrom": null,
                     *           "rating": {
                     *             "average": 4.5,
                     *             "count": 12
                     *           }
                     *         }
                     *       ],
                     *       "nextCursor": "WyJURUUtQkxLLU0iXQ"
                     *     }
                     */
                    "application/json": components["schemas"]["ProductPage"];
                };
            };
            /**
             * @description `VALIDATION_FAILED`: a path, query, header or body field is missing, of the wrong type, out of range, too long, unknown (bodies reject unknown fields), or a string holds NUL or unpaired surrogates; `details: {in, issues: [{path, message}]}`
             *
             *     `INVALID_CURSOR`: a pagination cursor this API did not issue
             */
            400: {
                headers: {
                    [name: string]: unknown;
                };
                content: {
                    "application/json": {
                        error: {
                            /** @enum {string} */
                            code: "VALIDATION_FAILED" | "INVALID_CURSOR";
                            message: string;
                            details?: {
                                [key: string]: unknown;
                            };
                        };
                    };
                };
            };
            /** @description `UNAUTHENTICATED`: protected route without a token, or a malformed, forged or expired one */
            401: {
                headers: {
                    [name: string]: unknown;
                };
                content: {
                    "application/json": {
                        error: {
                            /** @enum {string} */
                            code: "UNAUTHENTICATED";
                            message: string;
                            details?: {
                                [key: string]: unknown;
                            };
                        };
                    };
                };
            };
            /** @description `INTERNAL_ERROR`: a bug; logged with its stack, nothing internal is returned */
            500: {
                headers: {
                    [name: string]: unknown;
                };
                content: {
                    "application/json": {
                        error: {
                            /** @enum {string} */
                            code: "INTERNAL_ERROR";
                            message: string;
                            details?: {
                                [key: string]: unknown;
                            };
                        };
                    };
                };
            };
            /** @description `SERVICE_UNAVAILABLE`: the database cannot be reached, or the connection was lost during the request, which may or may not have taken effect; retry (checkout with the same `Idempotency-Key` returns the order if the first attempt created it) */
            503: {
                headers: {
                    [name: string]: unknown;
                };
                content: {
                    "application/json": {
                        error: {
                            /** @enum {string} */
                            code: "SERVICE_UNAVAILABLE";
                            message: string;
                            details?: {
                                [key: string]: unknown;
                            };
                        };
                    };
                };
            };
        };
    };
    "products.create": {
        parameters: {
            query?: never;
            header?: never;
            path?: never;
            cookie?: never;
        };
        requestBody: {
            content: {
                /**
                 * @example {
                 *       "sku": "DROP-1",
                 *       "name": "Drop sneaker",
                 *       "priceCents": 19900,
                 *       "category": "shoes",
                 *       "available": 20,
                 *       "minQuantity": 5
                 *     }
                 */
                "application/json": {
                    sku: string;
                    name: string;
                    /** @default  */
                    description?: string;
                    priceCents: number;
                    /** @default EUR */
                    currency?: string;
                    /** @default null */
                    category?: string | null;
                    /** @default [] */
                    imageUrls?: string[];
                    attributes?: {
                        [key: string]: string | number | boolean;
                    };
                    /** @default null */
                    maxPerCustomer?: number | null;
                    /** @default null */
                    availableFrom?: string | null;
                    available: number;
                    minQuantity: number;
                };
            };
        };
        responses: {
            /** @description Add a product with its opening stock */
            201: {
                headers: {
                    [name: string]: unknown;
                };
                content: {
                    /**
                     * @example {
                     *       "sku": "TEE-BLK-M",
                     *       "name": "Black T-shirt (M)",
                     *       "description": "Organic cotton, 180 g/m²",
                     *       "priceCents": 1999,
                     *       "currency": "EUR",
                     *       "category": "apparel",
                     *       "imageUrls": [
                     *         "https://cdn.example.com/tee-blk-m.jpg"
                     *       ],
                     *       "attributes": {
                     *         "colour": "black",
                     *         "size": "M"
                     *       },
                     *       "available": 117,
                     *       "maxPerCustomer": null,
                     *       "availableFrom": null,
                     *       "rating": {
                     *         "average": 4.5,
                     *         "count": 12
                     *       },
                     *       "minQuantity": 20
                     *     }
                     */
                    "application/json": components["schemas"]["Product"];
                };
            };
            /**
             * @description `VALIDATION_FAILED`: a path, query, header or body field is missing, of the wrong type, out of range, too long, unknown (bodies reject unknown fields), or a string holds NUL or unpaired surrogates; `details: {in, issues: [{path, message}]}`
             *
             *     `MALFORMED_JSON`: the body is not JSON
             *
             *     `UNSUPPORTED_MEDIA_TYPE`: a body with a content-type other than JSON, or with a content-encoding (gzip, ...)
             */
            400: {
                headers: {
                    [name: string]: unknown;
                };
                content: {
                    "application/json": {
                        error: {
                            /** @enum {string} */
                            code: "VALIDATION_FAILED" | "MALFORMED_JSON" | "UNSUPPORTED_MEDIA_TYPE";
                            message: string;
                            details?: {
                                [key: string]: unknown;
                            };
                        };
                    };
                };
            };
            /** @description `UNAUTHENTICATED`: protected route without a token, or a malformed, forged or expired one */
            401: {
                headers: {
                    [name: string]: unknown;
                };
                content: {
                    "application/json": {
                        error: {
                            /** @enum {string} */
                            code: "UNAUTHENTICATED";
                            message: string;
                            details?: {
                                [key: string]: unknown;
                            };
                        };
                    };
                };
            };
            /** @description `FORBIDDEN`: a valid token whose role may not do this */
            403: {
                headers: {
                    [name: string]: unknown;
                };
                content: {
                    "application/json": {
                        error: {
                            /** @enum {string} */
                            code: "FORBIDDEN";
                            message: string;
                            details?: {
                                [key: string]: unknown;
                            };
                        };
                    };
                };
            };
            /** @description `SKU_EXISTS`: a product with that SKU exists */
            409: {
                headers: {
                    [name: string]: unknown;
                };
                content: {
                    "application/json": {
                        error: {
                            /** @enum {string} */
                            code: "SKU_EXISTS";
                            message: string;
                            details?: {
                                [key: string]: unknown;
                            };
                        };
                    };
                };
            };
            /** @description `BODY_TOO_LARGE`: a body over `MAX_BODY_BYTES` (64 KiB) */
            413: {
                headers: {
                    [name: string]: unknown;
                };
                content: {
                    "application/json": {
                        error: {
                            /** @enum {string} */
                            code: "BODY_TOO_LARGE";
                            message: string;
                            details?: {
                                [key: string]: unknown;
                            };
                        };
                    };
                };
            };
            /** @description `INTERNAL_ERROR`: a bug; logged with its stack, nothing internal is returned */
            500: {
                headers: {
                    [name: string]: unknown;
                };
                content: {
                    "application/json": {
                        error: {
                            /** @enum {string} */
                            code: "INTERNAL_ERROR";
                            message: string;
                            details?: {
                                [key: string]: unknown;
                            };
                        };
                    };
                };
            };
            /** @description `SERVICE_UNAVAILABLE`: the database cannot be reached, or the connection was lost during the request, which may or may not have taken effect; retry (checkout with the same `Idempotency-Key` returns the order if the first attempt created it) */
            503: {
                headers: {
                    [name: string]: unknown;
                };
                content: {
                    "application/json": {
                        error: {
                            /** @enum {string} */
                            code: "SERVICE_UNAVAILABLE";
                            message: string;
                            details?: {
                                [key: string]: unknown;
                            };
                        };
                    };
                };
            };
        };
    };
    "products.get": {
        parameters: {
            query?: never;
            header?: never;
            path: {
                sku: string;
            };
            cookie?: never;
        };
        requestBody?: never;
        responses: {
            /** @description One product, with the units available now */
            200: {
                headers: {
                    [name: string]: unknown;
                };
                content: {
                    /**
                     * @example {
                     *       "sku": "TEE-BLK-M",
                     *       "name": "Black T-shirt (M)",
                     *       "description": "Organic cotton, 180 g/m²",
                     *       "priceCents": 1999,
                     *       "currency": "EUR",
                     *       "category": "apparel",
                     *       "imageUrls": [
                     *         "https://cdn.example.com/tee-blk-m.jpg"
                     *       ],
                     *       "attributes": {
                     *         "colour": "black",
                     *         "size": "M"
                     *       },
                     *       "available": 117,
                     *       "maxPerCustomer": null,
                     *       "availableFrom": null,
                     *       "rating": {
                     *         "average": 4.5,
                     *         "count": 12
                     *       }
                     *     }
                     */
                    "application/json": components["schemas"]["Product"];
                };
            };
            /**
             * @description `VALIDATION_FAILED`: a path, query, header or body field is missing, of the wrong type, out of range, too long, unknown (bodies reject unknown fields), or a string holds NUL or unpaired surrogates; `details: {in, issues: [{path, message}]}`
             *
             *     `MALFORMED_PATH`: the path is not valid percent-encoding
             */
            400: {
                headers: {
                    [name: string]: unknown;
                };
                content: {
                    "application/json": {
                        error: {
                            /** @enum {string} */
                            code: "VALIDATION_FAILED" | "MALFORMED_PATH";
                            message: string;
                            details?: {
                                [key: string]: unknown;
                            };
                        };
                    };
                };
            };
            /** @description `UNAUTHENTICATED`: protected route without a token, or a malformed, forged or expired one */
            401: {
                headers: {
                    [name: string]: unknown;
                };
                content: {
                    "application/json": {
                        error: {
                            /** @enum {string} */
                            code: "UNAUTHENTICATED";
                            message: string;
                            details?: {
                                [key: string]: unknown;
                            };
                        };
                    };
                };
            };
            /** @description `NOT_FOUND`: no such route, product, cart, order or promotion code, or one that belongs to someone else */
            404: {
                headers: {
                    [name: string]: unknown;
                };
                content: {
                    "application/json": {
                        error: {
                            /** @enum {string} */
                            code: "NOT_FOUND";
                            message: string;
                            details?: {
                                [key: string]: unknown;
                            };
                        };
                    };
                };
            };
            /** @description `INTERNAL_ERROR`: a bug; logged with its stack, nothing internal is returned */
            500: {
                headers: {
                    [name: string]: unknown;
                };
                content: {
                    "application/json": {
                        error: {
                            /** @enum {string} */
                            code: "INTERNAL_ERROR";
                            message: string;
                            details?: {
                                [key: string]: unknown;
                            };
                        };
                    };
                };
            };
            /** @description `SERVICE_UNAVAILABLE`: the database cannot be reached, or the connection was lost during the request, which may or may not have taken effect; retry (checkout with the same `Idempotency-Key` returns the order if the first attempt created it) */
            503: {
                headers: {
                    [name: string]: unknown;
                };
                content: {
                    "application/json": {
                        error: {
                            /** @enum {string} */
                            code: "SERVICE_UNAVAILABLE";
                            message: string;
                            details?: {
                                [key: string]: unknown;
                            };
                        };
                    };
                };
            };
        };
    };
    "products.update": {
        parameters: {
            query?: never;
            header?: never;
            path: {
                sku: string;
            };
            cookie?: never;
        };
        requestBody: {
            content: {
                /**
                 * @example {
                 *       "priceCents": 17900,
                 *       "maxPerCustomer": 2,
                 *       "availableFrom": "2026-12-24T10:00:00.000Z"
                 *     }
                 */
                "application/json": {
                    name?: string;
                    description?: string;
                    priceCents?: number;
                    currency?: string;
                    category?: string | null;
                    imageUrls?: string[];
                    attributes?: {
                        [key: string]: string | number | boolean;
                    };
                    maxPerCustomer?: number | null;
                    availableFrom?: string | null;
                };
            };
        };
        responses: {
            /** @description Change a product's details or price */
            200: {
                headers: {
                    [name: string]: unknown;
                };
                content: {
                    /**
                     * @example {
                     *       "sku": "TEE-BLK-M",
                     *       "name": "Black T-shirt (M)",
                     *       "description": "Organic cotton, 180 g/m²",
                     *       "priceCents": 1799,
                     *       "currency": "EUR",
                     *       "category": "apparel",
                     *       "imageUrls": [
                     *         "https://cdn.example.com/tee-blk-m.jpg"
                     *       ],
                     *       "attributes": {
                     *         "colour": "black",
                     *         "size": "M"
                     *       },
                     *       "available": 117,
                     *       "maxPerCustomer": null,
                     *       "availableFrom": null,
                     *       "rating": {
                     *         "average": 4.5,
                     *         "count": 12
                     *       },
                     *       "minQuantity": 20
                     *     }
                     */
                    "application/json": components["schemas"]["Product"];
                };
            };
            /**
             * @description `VALIDATION_FAILED`: a path, query, header or body field is missing, of the wrong type, out of range, too long, unknown (bodies reject unknown fields), or a string holds NUL or unpaired surrogates; `details: {in, issues: [{path, message}]}`
             *
             *     `MALFORMED_JSON`: the body is not JSON
             *
             *     `UNSUPPORTED_MEDIA_TYPE`: a body with a content-type other than JSON, or with a content-encoding (gzip, ...)
             *
             *     `MALFORMED_PATH`: the path is not valid percent-encoding
             */
            400: {
                headers: {
                    [name: string]: unknown;
                };
                content: {
                    "application/json": {
                        error: {
                            /** @enum {string} */
                            code: "VALIDATION_FAILED" | "MALFORMED_JSON" | "UNSUPPORTED_MEDIA_TYPE" | "MALFORMED_PATH";
                            message: string;
                            details?: {
                                [key: string]: unknown;
                            };
                        };
                    };
                };
            };
            /** @description `UNAUTHENTICATED`: protected route without a token, or a malformed, forged or expired one */
            401: {
                headers: {
                    [name: string]: unknown;
                };
                content: {
                    "application/json": {
                        error: {
                            /** @enum {string} */
                            code: "UNAUTHENTICATED";
                            message: string;
                            details?: {
                                [key: string]: unknown;
                            };
                        };
                    };
                };
            };
            /** @description `FORBIDDEN`: a valid token whose role may not do this */
            403: {
                headers: {
                    [name: string]: unknown;
                };
                content: {
                    "application/json": {
                        error: {
                            /** @enum {string} */
                            code: "FORBIDDEN";
                            message: string;
                            details?: {
                                [key: string]: unknown;
                            };
                        };
                    };
                };
            };
            /** @description `NOT_FOUND`: no such route, product, cart, order or promotion code, or one that belongs to someone else */
            404: {
                headers: {
                    [name: string]: unknown;
                };
                content: {
                    "application/json": {
                        error: {
                            /** @enum {string} */
                            code: "NOT_FOUND";
                            message: string;
                            details?: {
                                [key: string]: unknown;
                            };
                        };
                    };
                };
            };
            /** @description `BODY_TOO_LARGE`: a body over `MAX_BODY_BYTES` (64 KiB) */
            413: {
                headers: {
                    [name: string]: unknown;
                };
                content: {
                    "application/json": {
                        error: {
                            /** @enum {string} */
                            code: "BODY_TOO_LARGE";
                            message: string;
                            details?: {
                                [key: string]: unknown;
                            };
                        };
                    };
                };
            };
            /** @description `INTERNAL_ERROR`: a bug; logged with its stack, nothing internal is returned */
            500: {
                headers: {
                    [name: string]: unknown;
                };
                content: {
                    "application/json": {
                        error: {
                            /** @enum {string} */
                            code: "INTERNAL_ERROR";
                            message: string;
                            details?: {
                                [key: string]: unknown;
                            };
                        };
                    };
                };
            };
            /** @description `SERVICE_UNAVAILABLE`: the database cannot be reached, or the connection was lost during the request, which may or may not have taken effect; retry (checkout with the same `Idempotency-Key` returns the order if the first attempt created it) */
            503: {
                headers: {
                    [name: string]: unknown;
                };
                content: {
                    "application/json": {
                        error: {
                            /** @enum {string} */
                            code: "SERVICE_UNAVAILABLE";
                            message: string;
                            details?: {
                                [key: string]: unknown;
                            };
                        };
                    };
                };
            };
        };
    };
    "reviews.list": {
        parameters: {
            query?: {
                limit?: number;
                cursor?: string;
            };
            header?: never;
            path: {
                sku: string;
            };
            cookie?: never;
        };
        requestBody?: never;
        responses: {
            /** @description A product's reviews, newest first, a page at a time */
            200: {
                headers: {
                    [name: string]: unknown;
                };
                content: {
                    /**
                     * @example {
                     *       "items": [
                     *         {
                     *           "id": "3b8f2c1e-5d4a-4e6b-9c7f-1a2b3c4d5e6f",
                     *           "sku": "TEE-BLK-M",
                     *           "rating": 5,
                     *           "title": "Soft and true to size",
                     *           "body": "Washed it twice, still black.",
                     *           "author": "Ada L.",
                     *           "createdAt": "2026-12-01T10:15:30.123Z"
                     *         }
                     *       ],
                     *       "nextCursor": null
                     *     }
                     */
                    "application/json": {
                        items: {
                            /** Format: uuid */
                            id: string;
                            sku: string;
                            rating: number;
                            title: string | null;
                            body: string | null;
                            author: string;
                            /** Format: date-time */
                            createdAt: string;
                        }[];
                        nextCursor: string | null;
                    };
                };
            };
            /**
             * @description `VALIDATION_FAILED`: a path, query, header or body field is missing, of the wrong type, out of range, too long, unknown (bodies reject unknown fields), or a string holds NUL or unpaired surrogates; `details: {in, issues: [{path, message}]}`
             *
             *     `MALFORMED_PATH`: the path is not valid percent-encoding
             *
             *     `INVALID_CURSOR`: a pagination cursor this API did not issue
             */
            400: {
                headers: {
                    [name: string]: unknown;
                };
                content: {
                    "application/json": {
                        error: {
                            /** @enum {string} */
                            code: "VALIDATION_FAILED" | "MALFORMED_PATH" | "INVALID_CURSOR";
                            message: string;
                            details?: {
                                [key: string]: unknown;
                            };
                        };
                    };
                };
            };
            /** @description `NOT_FOUND`: no such route, product, cart, order or promotion code, or one that belongs to someone else */
            404: {
                headers: {
                    [name: string]: unknown;
                };
                content: {
                    "application/json": {
                        error: {
                            /** @enum {string} */
                            code: "NOT_FOUND";
                            message: string;
                            details?: {
                                [key: string]: unknown;
                            };
                        };
                    };
                };
            };
            /** @description `INTERNAL_ERROR`: a bug; logged with its stack, nothing internal is returned */
            500: {
                headers: {
                    [name: string]: unknown;
                };
                content: {
                    "application/json": {
                        error: {
                            /** @enum {string} */
                            code: "INTERNAL_ERROR";
                            message: string;
                            details?: {
                                [key: string]: unknown;
                            };
                        };
                    };
                };
            };
            /** @description `SERVICE_UNAVAILABLE`: the database cannot be reached, or the connection was lost during the request, which may or may not have taken effect; retry (checkout with the same `Idempotency-Key` returns the order if the first attempt created it) */
            503: {
                headers: {
                    [name: string]: unknown;
                };
                content: {
                    "application/json": {
                        error: {
                            /** @enum {string} */
                            code: "SERVICE_UNAVAILABLE";
                            message: string;
                            details?: {
                                [key: string]: unknown;
                            };
                        };
                    };
                };
            };
        };
    };
    "reviews.create": {
        parameters: {
            query?: never;
            header?: never;
            path: {
                sku: string;
            };
            cookie?: never;
        };
        requestBody: {
            content: {
                /**
                 * @example {
                 *       "rating": 5,
                 *       "title": "Soft and true to size",
                 *       "body": "Washed it twice, still black."
                 *     }
                 */
                "application/json": {
                    rating: number;
                    title?: string;
                    body?: string;
                };
            };
        };
        responses: {
            /** @description Review a product you received (a delivered order holds it): 1-5 stars, once */
            201: {
                headers: {
                    [name: string]: unknown;
                };
                content: {
                    /**
                     * @example {
                     *       "id": "3b8f2c1e-5d4a-4e6b-9c7f-1a2b3c4d5e6f",
                     *       "sku": "TEE-BLK-M",
                     *       "rating": 5,
                     *       "title": "Soft and true to size",
                     *       "body": "Washed it twice, still black.",
                     *       "author": "Ada L.",
                     *       "createdAt": "2026-12-01T10:15:30.123Z"
                     *     }
                     */
                    "application/json": {
                        /** Format: uuid */
                        id: string;
                        sku: string;
                        rating: number;
                        title: string | null;
                        body: string | null;
                        author: string;
                        /** Format: date-time */
                        createdAt: string;
                    };
                };
            };
            /**
             * @description `VALIDATION_FAILED`: a path, query, header or body field is missing, of the wrong type, out of range, too long, unknown (bodies reject unknown fields), or a string holds NUL or unpaired surrogates; `details: {in, issues: [{path, message}]}`
             *
             *     `MALFORMED_JSON`: the body is not JSON
             *
             *     `UNSUPPORTED_MEDIA_TYPE`: a body with a content-type other than JSON, or with a content-encoding (gzip, ...)
             *
             *     `MALFORMED_PATH`: the path is not valid percent-encoding
             */
            400: {
                headers: {
                    [name: string]: unknown;
                };
                content: {
                    "application/json": {
                        error: {
                            /** @enum {string} */
                            code: "VALIDATION_FAILED" | "MALFORMED_JSON" | "UNSUPPORTED_MEDIA_TYPE" | "MALFORMED_PATH";
                            message: string;
                            details?: {
                                [key: string]: unknown;
                            };
                        };
                    };
                };
            };
            /** @description `UNAUTHENTICATED`: protected route without a token, or a malformed, forged or expired one */
            401: {
                headers: {
                    [name: string]: unknown;
                };
                content: {
                    "application/json": {
                        error: {
                            /** @enum {string} */
                            code: "UNAUTHENTICATED";
                            message: string;
                            details?: {
                                [key: string]: unknown;
                            };
                        };
                    };
                };
            };
            /**
             * @description `FORBIDDEN`: a valid token whose role may not do this
             *
             *     `NOT_A_VERIFIED_BUYER`: `POST /products/{sku}/reviews` by a customer without a delivered order holding that SKU; nothing written
             */
            403: {
                headers: {
                    [name: string]: unknown;
                };
                content: {
                    "application/json": {
                        error: {
                            /** @enum {string} */
                            code: "FORBIDDEN" | "NOT_A_VERIFIED_BUYER";
                            message: string;
                            details?: {
                                [key: string]: unknown;
                            };
                        };
                    };
                };
            };
            /** @description `NOT_FOUND`: no such route, product, cart, order or promotion code, or one that belongs to someone else */
            404: {
                headers: {
                    [name: string]: unknown;
                };
                content: {
                    "application/json": {
                        error: {
                            /** @enum {string} */
                            code: "NOT_FOUND";
                            message: string;
                            details?: {
                                [key: string]: unknown;
                            };
                        };
                    };
                };
            };
            /** @description `REVIEW_EXISTS`: a second review of one product by one customer; the first stays as it is */
            409: {
                headers: {
                    [name: string]: unknown;
                };
                content: {
                    "application/json": {
                        error: {
                            /** @enum {string} */
                            code: "REVIEW_EXISTS";
                            message: string;
                            details?: {
                                [key: string]: unknown;
                            };
                        };
                    };
                };
            };
            /** @description `BODY_TOO_LARGE`: a body over `MAX_BODY_BYTES` (64 KiB) */
            413: {
                headers: {
                    [name: string]: unknown;
                };
                content: {
                    "application/json": {
                        error: {
                            /** @enum {string} */
                            code: "BODY_TOO_LARGE";
                            message: string;
                            details?: {
                                [key: string]: unknown;
                            };
                        };
                    };
                };
            };
            /** @description `INTERNAL_ERROR`: a bug; logged with its stack, nothing internal is returned */
            500: {
                headers: {
                    [name: string]: unknown;
                };
                content: {
                    "application/json": {
                        error: {
                            /** @enum {string} */
                            code: "INTERNAL_ERROR";
                            message: string;
                            details?: {
                                [key: string]: unknown;
                            };
                        };
                    };
                };
            };
            /** @description `SERVICE_UNAVAILABLE`: the database cannot be reached, or the connection was lost during the request, which may or may not have taken effect; retry (checkout with the same `Idempotency-Key` returns the order if the first attempt created it) */
            503: {
                headers: {
                    [name: string]: unknown;
                };
                content: {
                    "application/json": {
                        error: {
                            /** @enum {string} */
                            code: "SERVICE_UNAVAILABLE";
                            message: string;
                            details?: {
                                [key: string]: unknown;
                            };
                        };
                    };
                };
            };
        };
    };
    "inventory.list": {
        parameters: {
            query?: {
                low?: "true" | "false";
            };
            header?: never;
            path?: never;
            cookie?: never;
        };
        requestBody?: never;
        responses: {
            /** @description Stock of every product, or only those below their minimum */
            200: {
                headers: {
                    [name: string]: unknown;
                };
                content: {
                    /**
                     * @example {
                     *       "items": [
                     *         {
                     *           "sku": "TEE-BLK-M",
                     *           "name": "Black T-shirt (M)",
                     *           "available": 12,
                     *           "minQuantity": 20,
                     *           "low": true
                     *         }
                     *       ]
                     *     }
                     */
                    "application/json": components["schemas"]["InventoryList"];
                };
            };
            /** @description `VALIDATION_FAILED`: a path, query, header or body field is missing, of the wrong type, out of range, too long, unknown (bodies reject unknown fields), or a string holds NUL or unpaired surrogates; `details: {in, issues: [{path, message}]}` */
            400: {
                headers: {
                    [name: string]: unknown;
                };
                content: {
                    "application/json": {
                        error: {
                            /** @enum {string} */
                            code: "VALIDATION_FAILED";
                            message: string;
                            details?: {
                                [key: string]: unknown;
                            };
                        };
                    };
                };
            };
            /** @description `UNAUTHENTICATED`: protected route without a token, or a malformed, forged or expired one */
            401: {
                headers: {
                    [name: string]: unknown;
                };
                content: {
                    "application/json": {
                        error: {
                            /** @enum {string} */
                            code: "UNAUTHENTICATED";
                            message: string;
                            details?: {
                                [key: string]: unknown;
                            };
                        };
                    };
                };
            };
            /** @description `FORBIDDEN`: a valid token whose role may not do this */
            403: {
                headers: {
                    [name: string]: unknown;
                };
                content: {
                    "application/json": {
                        error: {
                            /** @enum {string} */
                            code: "FORBIDDEN";
                            message: string;
                            details?: {
                                [key: string]: unknown;
                            };
                        };
                    };
                };
            };
            /** @description `INTERNAL_ERROR`: a bug; logged with its stack, nothing internal is returned */
            500: {
                headers: {
                    [name: string]: unknown;
                };
                content: {
                    "application/json": {
                        error: {
                            /** @enum {string} */
                            code: "INTERNAL_ERROR";
                            message: string;
                            details?: {
                                [key: string]: unknown;
                            };
                        };
                    };
                };
            };
            /** @description `SERVICE_UNAVAILABLE`: the database cannot be reached, or the connection was lost during the request, which may or may not have taken effect; retry (checkout with the same `Idempotency-Key` returns the order if the first attempt created it) */
            503: {
                headers: {
                    [name: string]: unknown;
                };
                content: {
                    "application/json": {
                        error: {
                            /** @enum {string} */
                            code: "SERVICE_UNAVAILABLE";
                            message: string;
                            details?: {
                                [key: string]: unknown;
                            };
                        };
                    };
                };
            };
        };
    };
    "inventory.setMinimum": {
        parameters: {
            query?: never;
            header?: never;
            path: {
                sku: string;
            };
            cookie?: never;
        };
        requestBody: {
            content: {
                /**
                 * @example {
                 *       "minQuantity": 8
                 *     }
                 */
                "application/json": {
                    minQuantity: number;
                };
            };
        };
        responses: {
            /** @description Set the stock below which the stock manager is told */
            200: {
                headers: {
                    [name: string]: unknown;
                };
                content: {
                    /**
                     * @example {
                     *       "sku": "TEE-BLK-M",
                     *       "available": 127,
                     *       "minQuantity": 20
                     *     }
                     */
                    "application/json": components["schemas"]["StockLevel"];
                };
            };
            /**
             * @description `VALIDATION_FAILED`: a path, query, header or body field is missing, of the wrong type, out of range, too long, unknown (bodies reject unknown fields), or a string holds NUL or unpaired surrogates; `details: {in, issues: [{path, message}]}`
             *
             *     `MALFORMED_JSON`: the body is not JSON
             *
             *     `UNSUPPORTED_MEDIA_TYPE`: a body with a content-type other than JSON, or with a content-encoding (gzip, ...)
             *
             *     `MALFORMED_PATH`: the path is not valid percent-encoding
             */
            400: {
                headers: {
                    [name: string]: unknown;
                };
                content: {
                    "application/json": {
                        error: {
                            /** @enum {string} */
                            code: "VALIDATION_FAILED" | "MALFORMED_JSON" | "UNSUPPORTED_MEDIA_TYPE" | "MALFORMED_PATH";
                            message: string;
                            details?: {
                                [key: string]: unknown;
                            };
                        };
                    };
                };
            };
            /** @description `UNAUTHENTICATED`: protected route without a token, or a malformed, forged or expired one */
            401: {
                headers: {
                    [name: string]: unknown;
                };
                content: {
                    "application/json": {
                        error: {
                            /** @enum {string} */
                            code: "UNAUTHENTICATED";
                            message: string;
                            details?: {
                                [key: string]: unknown;
                            };
                        };
                    };
                };
            };
            /** @description `FORBIDDEN`: a valid token whose role may not do this */
            403: {
                headers: {
                    [name: string]: unknown;
                };
                content: {
                    "application/json": {
                        error: {
                            /** @enum {string} */
                            code: "FORBIDDEN";
                            message: string;
                            details?: {
                                [key: string]: unknown;
                            };
                        };
                    };
                };
            };
            /** @description `NOT_FOUND`: no such route, product, cart, order or promotion code, or one that belongs to someone else */
            404: {
                headers: {
                    [name: string]: unknown;
                };
                content: {
                    "application/json": {
                        error: {
                            /** @enum {string} */
                            code: "NOT_FOUND";
                            message: string;
                            details?: {
                                [key: string]: unknown;
                            };
                        };
                    };
                };
            };
            /** @description `BODY_TOO_LARGE`: a body over `MAX_BODY_BYTES` (64 KiB) */
            413: {
                headers: {
                    [name: string]: unknown;
                };
                content: {
                    "application/json": {
                        error: {
                            /** @enum {string} */
                            code: "BODY_TOO_LARGE";
                            message: string;
                            details?: {
                                [key: string]: unknown;
                            };
                        };
                    };
                };
            };
            /** @description `INTERNAL_ERROR`: a bug; logged with its stack, nothing internal is returned */
            500: {
                headers: {
                    [name: string]: unknown;
                };
                content: {
                    "application/json": {
                        error: {
                            /** @enum {string} */
                            code: "INTERNAL_ERROR";
                            message: string;
                            details?: {
                                [key: string]: unknown;
                            };
                        };
                    };
                };
            };
            /** @description `SERVICE_UNAVAILABLE`: the database cannot be reached, or the connection was lost during the request, which may or may not have taken effect; retry (checkout with the same `Idempotency-Key` returns the order if the first attempt created it) */
            503: {
                headers: {
                    [name: string]: unknown;
                };
                content: {
                    "application/json": {
                        error: {
                            /** @enum {string} */
                            code: "SERVICE_UNAVAILABLE";
                            message: string;
                            details?: {
                                [key: string]: unknown;
                            };
                        };
                    };
                };
            };
        };
    };
    "inventory.adjust": {
        parameters: {
            query?: never;
            header?: never;
            path: {
                sku: string;
            };
            cookie?: never;
        };
        requestBody: {
            content: {
                /**
                 * @example {
                 *       "delta": 10,
                 *       "reason": "restock",
                 *       "note": "PO 4711"
                 *     }
                 */
                "application/json": {
                    delta: number;
                    /** @enum {string} */
                    reason: "restock" | "correction" | "damage" | "return" | "loss";
                    note?: string;
                };
            };
        };
        responses: {
            /** @description Restock, write off or correct a product's stock */
            200: {
                headers: {
                    [name: string]: unknown;
                };
                content: {
                    /**
                     * @example {
                     *       "sku": "TEE-BLK-M",
                     *       "available": 127,
                     *       "minQuantity": 20
                     *     }
                     */
                    "application/json": components["schemas"]["StockLevel"];
                };
            };
            /**
             * @description `VALIDATION_FAILED`: a path, query, header or body field is missing, of the wrong type, out of range, too long, unknown (bodies reject unknown fields), or a string holds NUL or unpaired surrogates; `details: {in, issues: [{path, message}]}`
             *
             *     `MALFORMED_JSON`: the body is not JSON
             *
             *     `UNSUPPORTED_MEDIA_TYPE`: a body with a content-type other than JSON, or with a content-encoding (gzip, ...)
             *
             *     `MALFORMED_PATH`: the path is not valid percent-encoding
             */
            400: {
                headers: {
                    [name: string]: unknown;
                };
                content: {
                    "application/json": {
                        error: {
                            /** @enum {string} */
                            code: "VALIDATION_FAILED" | "MALFORMED_JSON" | "UNSUPPORTED_MEDIA_TYPE" | "MALFORMED_PATH";
                            message: string;
                            details?: {
                                [key: string]: unknown;
                            };
                        };
                    };
                };
            };
            /** @description `UNAUTHENTICATED`: protected route without a token, or a malformed, forged or expired one */
            401: {
                headers: {
                    [name: string]: unknown;
                };
                content: {
                    "application/json": {
                        error: {
                            /** @enum {string} */
                            code: "UNAUTHENTICATED";
                            message: string;
                            details?: {
                                [key: string]: unknown;
                            };
                        };
                    };
                };
            };
            /** @description `FORBIDDEN`: a valid token whose role may not do this */
            403: {
                headers: {
                    [name: string]: unknown;
                };
                content: {
                    "application/json": {
                        error: {
                            /** @enum {string} */
                            code: "FORBIDDEN";
                            message: string;
                            details?: {
                                [key: string]: unknown;
                            };
                        };
                    };
                };
            };
            /** @description `NOT_FOUND`: no such route, product, cart, order or promotion code, or one that belongs to someone else */
            404: {
                headers: {
                    [name: string]: unknown;
                };
                content: {
                    "application/json": {
                        error: {
                            /** @enum {string} */
                            code: "NOT_FOUND";
                            message: string;
                            details?: {
                                [key: string]: unknown;
                            };
                        };
                    };
                };
            };
            /**
             * @description `INSUFFICIENT_STOCK`: cart: `details: {sku, requested, available}`; adjustment below 0: the same; checkout: `details: {lines: [{sku, requested, available}]}` listing every short line
             *
             *     `STOCK_LIMIT_EXCEEDED`: an adjustment that would take stock above 1,000,000,000
             */
            409: {
                headers: {
                    [name: string]: unknown;
                };
                content: {
                    "application/json": {
                        error: {
                            /** @enum {string} */
                            code: "INSUFFICIENT_STOCK" | "STOCK_LIMIT_EXCEEDED";
                            message: string;
                            details?: {
                                [key: string]: unknown;
                            };
                        };
                    };
                };
            };
            /** @description `BODY_TOO_LARGE`: a body over `MAX_BODY_BYTES` (64 KiB) */
            413: {
                headers: {
                    [name: string]: unknown;
                };
                content: {
                    "application/json": {
                        error: {
                            /** @enum {string} */
                            code: "BODY_TOO_LARGE";
                            message: string;
                            details?: {
                                [key: string]: unknown;
                            };
                        };
                    };
                };
            };
            /** @description `INTERNAL_ERROR`: a bug; logged with its stack, nothing internal is returned */
            500: {
                headers: {
                    [name: string]: unknown;
                };
                content: {
                    "application/json": {
                        error: {
                            /** @enum {string} */
                            code: "INTERNAL_ERROR";
                            message: string;
                            details?: {
                                [key: string]: unknown;
                            };
                        };
                    };
                };
            };
            /** @description `SERVICE_UNAVAILABLE`: the database cannot be reached, or the connection was lost during the request, which may or may not have taken effect; retry (checkout with the same `Idempotency-Key` returns the order if the first attempt created it) */
            503: {
                headers: {
                    [name: string]: unknown;
                };
                content: {
                    "application/json": {
                        error: {
                            /** @enum {string} */
                            code: "SERVICE_UNAVAILABLE";
                            message: string;
                            details?: {
                                [key: string]: unknown;
                            };
                        };
                    };
                };
            };
        };
    };
    "inventory.movements": {
        parameters: {
            query?: {
                limit?: number;
                cursor?: string;
            };
            header?: never;
            path: {
                sku: string;
            };
            cookie?: never;
        };
        requestBody?: never;
        responses: {
            /** @description A product's stock ledger, oldest first */
            200: {
                headers: {
                    [name: string]: unknown;
                };
                content: {
                    /**
                     * @example {
                     *       "items": [
                     *         {
                     *           "at": "2026-11-30T08:00:00.000Z",
                     *           "delta": 120,
                     *           "reason": "initial",
                     *           "orderId": null,
                     *           "availableAfter": 120,
                     *           "actor": {
                     *             "id": "9a8b7c6d-5e4f-4a3b-8c2d-1e0f9a8b7c6d",
                     *             "email": "sam@example.com"
                     *           },
                     *           "note": "opening stock, PO 4711"
                     *         },
                     *         {
                     *           "at": "2026-12-01T10:15:30.123Z",
                     *           "delta": -2,
                     *           "reason": "sale",
                     *           "orderId": "7d1f6a52-3c2e-4b8e-9a3f-2f6c1d8e4b90",
                     *           "availableAfter": 118,
                     *           "actor": null,
                     *           "note": null
                     *         }
                     *       ],
                     *       "nextCursor": null
                     *     }
                     */
                    "application/json": components["schemas"]["MovementPage"];
                };
            };
            /**
             * @description `VALIDATION_FAILED`: a path, query, header or body field is missing, of the wrong type, out of range, too long, unknown (bodies reject unknown fields), or a string holds NUL or unpaired surrogates; `details: {in, issues: [{path, message}]}`
             *
             *     `MALFORMED_PATH`: the path is not valid percent-encoding
             *
             *     `INVALID_CURSOR`: a pagination cursor this API did not issue
             */
            400: {
                headers: {
                    [name: string]: unknown;
                };
                content: {
                    "application/json": {
                        error: {
                            /** @enum {string} */
                            code: "VALIDATION_FAILED" | "MALFORMED_PATH" | "INVALID_CURSOR";
                            message: string;
                            details?: {
                                [key: string]: unknown;
                            };
                        };
                    };
                };
            };
            /** @description `UNAUTHENTICATED`: protected route without a token, or a malformed, forged or expired one */
            401: {
                headers: {
                    [name: string]: unknown;
                };
                content: {
                    "application/json": {
                        error: {
                            /** @enum {string} */
                            code: "UNAUTHENTICATED";
                            message: string;
                            details?: {
                                [key: string]: unknown;
                            };
                        };
                    };
                };
            };
            /** @description `FORBIDDEN`: a valid token whose role may not do this */
            403: {
                headers: {
                    [name: string]: unknown;
                };
                content: {
                    "application/json": {
                        error: {
                            /** @enum {string} */
                            code: "FORBIDDEN";
                            message: string;
                            details?: {
                                [key: string]: unknown;
                            };
                        };
                    };
                };
            };
            /** @description `NOT_FOUND`: no such route, product, cart, order or promotion code, or one that belongs to someone else */
            404: {
                headers: {
                    [name: string]: unknown;
                };
                content: {
                    "application/json": {
                        error: {
                            /** @enum {string} */
                            code: "NOT_FOUND";
                            message: string;
                            details?: {
                                [key: string]: unknown;
                            };
                        };
                    };
                };
            };
            /** @description `INTERNAL_ERROR`: a bug; logged with its stack, nothing internal is returned */
            500: {
                headers: {
                    [name: string]: unknown;
                };
                content: {
                    "application/json": {
                        error: {
                            /** @enum {string} */
                            code: "INTERNAL_ERROR";
                            message: string;
                            details?: {
                                [key: string]: unknown;
                            };
                        };
                    };
                };
            };
            /** @description `SERVICE_UNAVAILABLE`: the database cannot be reached, or the connection was lost during the request, which may or may not have taken effect; retry (checkout with the same `Idempotency-Key` returns the order if the first attempt created it) */
            503: {
                headers: {
                    [name: string]: unknown;
                };
                content: {
                    "application/json": {
                        error: {
                            /** @enum {string} */
                            code: "SERVICE_UNAVAILABLE";
                            message: string;
                            details?: {
                                [key: string]: unknown;
                            };
                        };
                    };
                };
            };
        };
    };
    "cart.create": {
        parameters: {
            query?: never;
            header?: never;
            path?: never;
            cookie?: never;
        };
        requestBody?: never;
        responses: {
            /** @description Start a cart: the caller's with a token, anonymous without */
            201: {
                headers: {
                    [name: string]: unknown;
                };
                content: {
                    /**
                     * @example {
                     *       "id": "3f8e2d1c-6b5a-4c9d-8e7f-1a2b3c4d5e6f",
                     *       "status": "open",
                     *       "items": [],
                     *       "subtotalCents": 0,
                     *       "promotion": null,
                     *       "discountCents": 0,
                     *       "totalCents": 0,
                     *       "currency": "EUR"
                     *     }
                     */
                    "application/json": components["schemas"]["Cart"];
                };
            };
            /** @description `UNAUTHENTICATED`: protected route without a token, or a malformed, forged or expired one */
            401: {
                headers: {
                    [name: string]: unknown;
                };
                content: {
                    "application/json": {
                        error: {
                            /** @enum {string} */
                            code: "UNAUTHENTICATED";
                            message: string;
                            details?: {
                                [key: string]: unknown;
                            };
                        };
                    };
                };
            };
            /** @description `INTERNAL_ERROR`: a bug; logged with its stack, nothing internal is returned */
            500: {
                headers: {
                    [name: string]: unknown;
                };
                content: {
                    "application/json": {
                        error: {
                            /** @enum {string} */
                            code: "INTERNAL_ERROR";
                            message: string;
                            details?: {
                                [key: string]: unknown;
                            };
                        };
                    };
                };
            };
            /** @description `SERVICE_UNAVAILABLE`: the database cannot be reached, or the connection was lost during the request, which may or may not have taken effect; retry (checkout with the same `Idempotency-Key` returns the order if the first attempt created it) */
            503: {
                headers: {
                    [name: string]: unknown;
                };
                content: {
                    "application/json": {
                        error: {
                            /** @enum {string} */
                            code: "SERVICE_UNAVAILABLE";
                            message: string;
                            details?: {
                                [key: string]: unknown;
                            };
                        };
                    };
                };
            };
        };
    };
    "cart.get": {
        parameters: {
            query?: never;
            header?: never;
            path: {
                id: string;
            };
            cookie?: never;
        };
        requestBody?: never;
        responses: {
            /** @description A cart with its lines at today's prices */
            200: {
                headers: {
                    [name: string]: unknown;
                };
                content: {
                    /**
                     * @example {
                     *       "id": "3f8e2d1c-6b5a-4c9d-8e7f-1a2b3c4d5e6f",
                     *       "status": "open",
                     *       "items": [
                     *         {
                     *           "sku": "TEE-BLK-M",
                     *           "name": "Black T-shirt (M)",
                     *           "quantity": 2,
                     *           "unitPriceCents": 1999,
                     *           "lineTotalCents": 3998
                     *         }
                     *       ],
                     *       "subtotalCents": 3998,
                     *       "promotion": {
                     *         "code": "FLASH-10",
                     *         "discountCents": 400
                     *       },
                     *       "discountCents": 400,
                     *       "totalCents": 3598,
                     *       "currency": "EUR"
                     *     }
                     */
                    "application/json": components["schemas"]["Cart"];
                };
            };
            /**
             * @description `VALIDATION_FAILED`: a path, query, header or body field is missing, of the wrong type, out of range, too long, unknown (bodies reject unknown fields), or a string holds NUL or unpaired surrogates; `details: {in, issues: [{path, message}]}`
             *
             *     `MALFORMED_PATH`: the path is not valid percent-encoding
             */
            400: {
                headers: {
                    [name: string]: unknown;
                };
                content: {
                    "application/json": {
                        error: {
                            /** @enum {string} */
                            code: "VALIDATION_FAILED" | "MALFORMED_PATH";
                            message: string;
                            details?: {
                                [key: string]: unknown;
                            };
                        };
                    };
                };
            };
            /** @description `UNAUTHENTICATED`: protected route without a token, or a malformed, forged or expired one */
            401: {
                headers: {
                    [name: string]: unknown;
                };
                content: {
                    "application/json": {
                        error: {
                            /** @enum {string} */
                            code: "UNAUTHENTICATED";
                            message: string;
                            details?: {
                                [key: string]: unknown;
                            };
                        };
                    };
                };
            };
            /** @description `NOT_FOUND`: no such route, product, cart, order or promotion code, or one that belongs to someone else */
            404: {
                headers: {
                    [name: string]: unknown;
                };
                content: {
                    "application/json": {
                        error: {
                            /** @enum {string} */
                            code: "NOT_FOUND";
                            message: string;
                            details?: {
                                [key: string]: unknown;
                            };
                        };
                    };
                };
            };
            /** @description `INTERNAL_ERROR`: a bug; logged with its stack, nothing internal is returned */
            500: {
                headers: {
                    [name: string]: unknown;
                };
                content: {
                    "application/json": {
                        error: {
                            /** @enum {string} */
                            code: "INTERNAL_ERROR";
                            message: string;
                            details?: {
                                [key: string]: unknown;
                            };
                        };
                    };
                };
            };
            /** @description `SERVICE_UNAVAILABLE`: the database cannot be reached, or the connection was lost during the request, which may or may not have taken effect; retry (checkout with the same `Idempotency-Key` returns the order if the first attempt created it) */
            503: {
                headers: {
                    [name: string]: unknown;
                };
                content: {
                    "application/json": {
                        error: {
                            /** @enum {string} */
                            code: "SERVICE_UNAVAILABLE";
                            message: string;
                            details?: {
                                [key: string]: unknown;
                            };
                        };
                    };
                };
            };
        };
    };
    "cart.setItem": {
        parameters: {
            query?: never;
            header?: never;
            path: {
                id: string;
                sku: string;
            };
            cookie?: never;
        };
        requestBody: {
            content: {
                /**
                 * @example {
                 *       "quantity": 2
                 *     }
                 */
                "application/json": {
                    quantity: number;
                };
            };
        };
        responses: {
            /** @description Set a line's quantity (0 removes it) */
            200: {
                headers: {
                    [name: string]: unknown;
                };
                content: {
                    /**
                     * @example {
                     *       "id": "3f8e2d1c-6b5a-4c9d-8e7f-1a2b3c4d5e6f",
                     *       "status": "open",
                     *       "items": [
                     *         {
                     *           "sku": "TEE-BLK-M",
                     *           "name": "Black T-shirt (M)",
                     *           "quantity": 2,
                     *           "unitPriceCents": 1999,
                     *           "lineTotalCents": 3998
                     *         }
                     *       ],
                     *       "subtotalCents": 3998,
                     *       "promotion": {
                     *         "code": "FLASH-10",
                     *         "discountCents": 400
                     *       },
                     *       "discountCents": 400,
                     *       "totalCents": 3598,
                     *       "currency": "EUR"
                     *     }
                     */
                    "application/json": components["schemas"]["Cart"];
                };
            };
            /**
             * @description `VALIDATION_FAILED`: a path, query, header or body field is missing, of the wrong type, out of range, too long, unknown (bodies reject unknown fields), or a string holds NUL or unpaired surrogates; `details: {in, issues: [{path, message}]}`
             *
             *     `MALFORMED_JSON`: the body is not JSON
             *
             *     `UNSUPPORTED_MEDIA_TYPE`: a body with a content-type other than JSON, or with a content-encoding (gzip, ...)
             *
             *     `MALFORMED_PATH`: the path is not valid percent-encoding
             */
            400: {
                headers: {
                    [name: string]: unknown;
                };
                content: {
                    "application/json": {
                        error: {
                            /** @enum {string} */
                            code: "VALIDATION_FAILED" | "MALFORMED_JSON" | "UNSUPPORTED_MEDIA_TYPE" | "MALFORMED_PATH";
                            message: string;
                            details?: {
                                [key: string]: unknown;
                            };
                        };
                    };
                };
            };
            /** @description `UNAUTHENTICATED`: protected route without a token, or a malformed, forged or expired one */
            401: {
                headers: {
                    [name: string]: unknown;
                };
                content: {
                    "application/json": {
                        error: {
                            /** @enum {string} */
                            code: "UNAUTHENTICATED";
                            message: string;
                            details?: {
                                [key: string]: unknown;
                            };
                        };
                    };
                };
            };
            /** @description `NOT_FOUND`: no such route, product, cart, order or promotion code, or one that belongs to someone else */
            404: {
                headers: {
                    [name: string]: unknown;
                };
                content: {
                    "application/json": {
                        error: {
                            /** @enum {string} */
                            code: "NOT_FOUND";
                            message: string;
                            details?: {
                                [key: string]: unknown;
                            };
                        };
                    };
                };
            };
            /**
             * @description `INSUFFICIENT_STOCK`: cart: `details: {sku, requested, available}`; adjustment below 0: the same; checkout: `details: {lines: [{sku, requested, available}]}` listing every short line
             *
             *     `CART_CLOSED`: changing or checking out a cart that is already an order
             *
             *     `PURCHASE_LIMIT`: a cart line or a checkout that would give one customer more units of a SKU than its `maxPerCustomer`, counting their orders that are not cancelled; `details: {sku, limit, alreadyBought, requested}`; nothing changed
             *
             *     `NOT_YET_AVAILABLE`: putting in a cart, or checking out, a product before its `availableFrom`; `details: {sku, availableFrom}`; nothing changed
             *
             *     `CART_LINE_LIMIT`: more than 100 different products in one cart
             *
             *     `CURRENCY_MISMATCH`: products priced in different currencies in one cart, paying with store credit for a cart in another currency than the wallet's, or a promotion in another currency than the cart's; nothing changed
             */
            409: {
                headers: {
                    [name: string]: unknown;
                };
                content: {
                    "application/json": {
                        error: {
                            /** @enum {string} */
                            code: "INSUFFICIENT_STOCK" | "CART_CLOSED" | "PURCHASE_LIMIT" | "NOT_YET_AVAILABLE" | "CART_LINE_LIMIT" | "CURRENCY_MISMATCH";
                            message: string;
                            details?: {
                                [key: string]: unknown;
                            };
                        };
                    };
                };
            };
            /** @description `BODY_TOO_LARGE`: a body over `MAX_BODY_BYTES` (64 KiB) */
            413: {
                headers: {
                    [name: string]: unknown;
                };
                content: {
                    "application/json": {
                        error: {
                            /** @enum {string} */
                            code: "BODY_TOO_LARGE";
                            message: string;
                            details?: {
                                [key: string]: unknown;
                            };
                        };
                    };
                };
            };
            /** @description `INTERNAL_ERROR`: a bug; logged with its stack, nothing internal is returned */
            500: {
                headers: {
                    [name: string]: unknown;
                };
                content: {
                    "application/json": {
                        error: {
                            /** @enum {string} */
                            code: "INTERNAL_ERROR";
                            message: string;
                            details?: {
                                [key: string]: unknown;
                            };
                        };
                    };
                };
            };
            /** @description `SERVICE_UNAVAILABLE`: the database cannot be reached, or the connection was lost during the request, which may or may not have taken effect; retry (checkout with the same `Idempotency-Key` returns the order if the first attempt created it) */
            503: {
                headers: {
                    [name: string]: unknown;
                };
                content: {
                    "application/json": {
                        error: {
                            /** @enum {string} */
                            code: "SERVICE_UNAVAILABLE";
                            message: string;
                            details?: {
                                [key: string]: unknown;
                            };
                        };
                    };
                };
            };
        };
    };
    "cart.removeItem": {
        parameters: {
            query?: never;
            header?: never;
            path: {
                id: string;
                sku: string;
            };
            cookie?: never;
        };
        requestBody?: never;
        responses: {
            /** @description Remove a line */
            200: {
                headers: {
                    [name: string]: unknown;
                };
                content: {
                    /**
                     * @example {
                     *       "id": "3f8e2d1c-6b5a-4c9d-8e7f-1a2b3c4d5e6f",
                     *       "status": "open",
                     *       "items": [],
                     *       "subtotalCents": 0,
                     *       "promotion": {
                     *         "code": "FLASH-10",
                     *         "discountCents": 0
                     *       },
                     *       "discountCents": 0,
                     *       "totalCents": 0,
                     *       "currency": "EUR"
                     *     }
                     */
                    "application/json": components["schemas"]["Cart"];
                };
            };
            /**
             * @description `VALIDATION_FAILED`: a path, query, header or body field is missing, of the wrong type, out of range, too long, unknown (bodies reject unknown fields), or a string holds NUL or unpaired surrogates; `details: {in, issues: [{path, message}]}`
             *
             *     `MALFORMED_PATH`: the path is not valid percent-encoding
             */
            400: {
                headers: {
                    [name: string]: unknown;
                };
                content: {
                    "application/json": {
                        error: {
                            /** @enum {string} */
                            code: "VALIDATION_FAILED" | "MALFORMED_PATH";
                            message: string;
                            details?: {
                                [key: string]: unknown;
                            };
                        };
                    };
                };
            };
            /** @description `UNAUTHENTICATED`: protected route without a token, or a malformed, forged or expired one */
            401: {
                headers: {
                    [name: string]: unknown;
                };
                content: {
                    "application/json": {
                        error: {
                            /** @enum {string} */
                            code: "UNAUTHENTICATED";
                            message: string;
                            details?: {
                                [key: string]: unknown;
                            };
                        };
                    };
                };
            };
            /** @description `NOT_FOUND`: no such route, product, cart, order or promotion code, or one that belongs to someone else */
            404: {
                headers: {
                    [name: string]: unknown;
                };
                content: {
                    "application/json": {
                        error: {
                            /** @enum {string} */
                            code: "NOT_FOUND";
                            message: string;
                            details?: {
                                [key: string]: unknown;
                            };
                        };
                    };
                };
            };
            /** @description `CART_CLOSED`: changing or checking out a cart that is already an order */
            409: {
                headers: {
                    [name: string]: unknown;
                };
                content: {
                    "application/json": {
                        error: {
                            /** @enum {string} */
                            code: "CART_CLOSED";
                            message: string;
                            details?: {
                                [key: string]: unknown;
                            };
                        };
                    };
                };
            };
            /** @description `INTERNAL_ERROR`: a bug; logged with its stack, nothing internal is returned */
            500: {
                headers: {
                    [name: string]: unknown;
                };
                content: {
                    "application/json": {
                        error: {
                            /** @enum {string} */
                            code: "INTERNAL_ERROR";
                            message: string;
                            details?: {
                                [key: string]: unknown;
                            };
                        };
                    };
                };
            };
            /** @description `SERVICE_UNAVAILABLE`: the database cannot be reached, or the connection was lost during the request, which may or may not have taken effect; retry (checkout with the same `Idempotency-Key` returns the order if the first attempt created it) */
            503: {
                headers: {
                    [name: string]: unknown;
                };
                content: {
                    "application/json": {
                        error: {
                            /** @enum {string} */
                            code: "SERVICE_UNAVAILABLE";
                            message: string;
                            details?: {
                                [key: string]: unknown;
                            };
                        };
                    };
                };
            };
        };
    };
    "cart.applyPromotion": {
        parameters: {
            query?: never;
            header?: never;
            path: {
                id: string;
            };
            cookie?: never;
        };
        requestBody: {
            content: {
                /**
                 * @example {
                 *       "code": "flash-10"
                 *     }
                 */
                "application/json": {
                    code: string;
                };
            };
        };
        responses: {
            /** @description Put a coupon code on the cart (replacing any other); checkout redeems it */
            200: {
                headers: {
                    [name: string]: unknown;
                };
                content: {
                    /**
                     * @example {
                     *       "id": "3f8e2d1c-6b5a-4c9d-8e7f-1a2b3c4d5e6f",
                     *       "status": "open",
                     *       "items": [
                     *         {
                     *           "sku": "TEE-BLK-M",
                     *           "name": "Black T-shirt (M)",
                     *           "quantity": 2,
                     *           "unitPriceCents": 1999,
                     *           "lineTotalCents": 3998
                     *         }
                     *       ],
                     *       "subtotalCents": 3998,
                     *       "promotion": {
                     *         "code": "FLASH-10",
                     *         "discountCents": 400
                     *       },
                     *       "discountCents": 400,
                     *       "totalCents": 3598,
                     *       "currency": "EUR"
                     *     }
                     */
                    "application/json": components["schemas"]["Cart"];
                };
            };
            /**
             * @description `VALIDATION_FAILED`: a path, query, header or body field is missing, of the wrong type, out of range, too long, unknown (bodies reject unknown fields), or a string holds NUL or unpaired surrogates; `details: {in, issues: [{path, message}]}`
             *
             *     `MALFORMED_JSON`: the body is not JSON
             *
             *     `UNSUPPORTED_MEDIA_TYPE`: a body with a content-type other than JSON, or with a content-encoding (gzip, ...)
             *
             *     `MALFORMED_PATH`: the path is not valid percent-encoding
             */
            400: {
                headers: {
                    [name: string]: unknown;
                };
                content: {
                    "application/json": {
                        error: {
                            /** @enum {string} */
                            code: "VALIDATION_FAILED" | "MALFORMED_JSON" | "UNSUPPORTED_MEDIA_TYPE" | "MALFORMED_PATH";
                            message: string;
                            details?: {
                                [key: string]: unknown;
                            };
                        };
                    };
                };
            };
            /** @description `UNAUTHENTICATED`: protected route without a token, or a malformed, forged or expired one */
            401: {
                headers: {
                    [name: string]: unknown;
                };
                content: {
                    "application/json": {
                        error: {
                            /** @enum {string} */
                            code: "UNAUTHENTICATED";
                            message: string;
                            details?: {
                                [key: string]: unknown;
                            };
                        };
                    };
                };
            };
            /** @description `NOT_FOUND`: no such route, product, cart, order or promotion code, or one that belongs to someone else */
            404: {
                headers: {
                    [name: string]: unknown;
                };
                content: {
                    "application/json": {
                        error: {
                            /** @enum {string} */
                            code: "NOT_FOUND";
                            message: string;
                            details?: {
                                [key: string]: unknown;
                            };
                        };
                    };
                };
            };
            /**
             * @description `PROMOTION_INACTIVE`: applying or redeeming a promotion before its `startsAt`, from its `endsAt` on, or while it is not `active`; `details: {code, active, startsAt, endsAt}`; nothing changed
             *
             *     `PROMOTION_MIN_SUBTOTAL`: applying or redeeming a promotion on a cart whose subtotal is under its `minSubtotalCents`; `details: {code, minSubtotalCents, subtotalCents}`; nothing changed
             *
             *     `PROMOTION_EXHAUSTED`: applying or redeeming a promotion whose `usageLimit` is reached, or lowering `usageLimit` below the uses taken; `details: {code, used, usageLimit}`; nothing changed
             *
             *     `PROMOTION_ALREADY_USED`: applying or redeeming a promotion that this customer's orders (not cancelled) already carry `perCustomerLimit` times; `details: {code, perCustomerLimit}`; nothing changed
             *
             *     `CART_CLOSED`: changing or checking out a cart that is already an order
             *
             *     `CURRENCY_MISMATCH`: products priced in different currencies in one cart, paying with store credit for a cart in another currency than the wallet's, or a promotion in another currency than the cart's; nothing changed
             */
            409: {
                headers: {
                    [name: string]: unknown;
                };
                content: {
                    "application/json": {
                        error: {
                            /** @enum {string} */
                            code: "PROMOTION_INACTIVE" | "PROMOTION_MIN_SUBTOTAL" | "PROMOTION_EXHAUSTED" | "PROMOTION_ALREADY_USED" | "CART_CLOSED" | "CURRENCY_MISMATCH";
                            message: string;
                            details?: {
                                [key: string]: unknown;
                            };
                        };
                    };
                };
            };
            /** @description `BODY_TOO_LARGE`: a body over `MAX_BODY_BYTES` (64 KiB) */
            413: {
                headers: {
                    [name: string]: unknown;
                };
                content: {
                    "application/json": {
                        error: {
                            /** @enum {string} */
                            code: "BODY_TOO_LARGE";
                            message: string;
                            details?: {
                                [key: string]: unknown;
                            };
                        };
                    };
                };
            };
            /** @description `INTERNAL_ERROR`: a bug; logged with its stack, nothing internal is returned */
            500: {
                headers: {
                    [name: string]: unknown;
                };
                content: {
                    "application/json": {
                        error: {
                            /** @enum {string} */
                            code: "INTERNAL_ERROR";
                            message: string;
                            details?: {
                                [key: string]: unknown;
                            };
                        };
                    };
                };
            };
            /** @description `SERVICE_UNAVAILABLE`: the database cannot be reached, or the connection was lost during the request, which may or may not have taken effect; retry (checkout with the same `Idempotency-Key` returns the order if the first attempt created it) */
            503: {
                headers: {
                    [name: string]: unknown;
                };
                content: {
                    "application/json": {
                        error: {
                            /** @enum {string} */
                            code: "SERVICE_UNAVAILABLE";
                            message: string;
                            details?: {
                                [key: string]: unknown;
                            };
                        };
                    };
                };
            };
        };
    };
    "cart.removePromotion": {
        parameters: {
            query?: never;
            header?: never;
            path: {
                id: string;
            };
            cookie?: never;
        };
        requestBody?: never;
        responses: {
            /** @description Take the coupon code off the cart */
            200: {
                headers: {
                    [name: string]: unknown;
                };
                content: {
                    /**
                     * @example {
                     *       "id": "3f8e2d1c-6b5a-4c9d-8e7f-1a2b3c4d5e6f",
                     *       "status": "open",
                     *       "items": [
                     *         {
                     *           "sku": "TEE-BLK-M",
                     *           "name": "Black T-shirt (M)",
                     *           "quantity": 2,
                     *           "unitPriceCents": 1999,
                     *           "lineTotalCents": 3998
                     *         }
                     *       ],
                     *       "subtotalCents": 3998,
                     *       "promotion": null,
                     *       "discountCents": 0,
                     *       "totalCents": 3998,
                     *       "currency": "EUR"
                     *     }
                     */
                    "application/json": components["schemas"]["Cart"];
                };
            };
            /**
             * @description `VALIDATION_FAILED`: a path, query, header or body field is missing, of the wrong type, out of range, too long, unknown (bodies reject unknown fields), or a string holds NUL or unpaired surrogates; `details: {in, issues: [{path, message}]}`
             *
             *     `MALFORMED_PATH`: the path is not valid percent-encoding
             */
            400: {
                headers: {
                    [name: string]: unknown;
                };
                content: {
                    "application/json": {
                        error: {
                            /** @enum {string} */
                            code: "VALIDATION_FAILED" | "MALFORMED_PATH";
                            message: string;
                            details?: {
                                [key: string]: unknown;
                            };
                        };
                    };
                };
            };
            /** @description `UNAUTHENTICATED`: protected route without a token, or a malformed, forged or expired one */
            401: {
                headers: {
                    [name: string]: unknown;
                };
                content: {
                    "application/json": {
                        error: {
                            /** @enum {string} */
                            code: "UNAUTHENTICATED";
                            message: string;
                            details?: {
                                [key: string]: unknown;
                            };
                        };
                    };
                };
            };
            /** @description `NOT_FOUND`: no such route, product, cart, order or promotion code, or one that belongs to someone else */
            404: {
                headers: {
                    [name: string]: unknown;
                };
                content: {
                    "application/json": {
                        error: {
                            /** @enum {string} */
                            code: "NOT_FOUND";
                            message: string;
                            details?: {
                                [key: string]: unknown;
                            };
                        };
                    };
                };
            };
            /** @description `CART_CLOSED`: changing or checking out a cart that is already an order */
            409: {
                headers: {
                    [name: string]: unknown;
                };
                content: {
                    "application/json": {
                        error: {
                            /** @enum {string} */
                            code: "CART_CLOSED";
                            message: string;
                            details?: {
                                [key: string]: unknown;
                            };
                        };
                    };
                };
            };
            /** @description `INTERNAL_ERROR`: a bug; logged with its stack, nothing internal is returned */
            500: {
                headers: {
                    [name: string]: unknown;
                };
                content: {
                    "application/json": {
                        error: {
                            /** @enum {string} */
                            code: "INTERNAL_ERROR";
                            message: string;
                            details?: {
                                [key: string]: unknown;
                            };
                        };
                    };
                };
            };
            /** @description `SERVICE_UNAVAILABLE`: the database cannot be reached, or the connection was lost during the request, which may or may not have taken effect; retry (checkout with the same `Idempotency-Key` returns the order if the first attempt created it) */
            503: {
                headers: {
                    [name: string]: unknown;
                };
                content: {
                    "application/json": {
                        error: {
                            /** @enum {string} */
                            code: "SERVICE_UNAVAILABLE";
                            message: string;
                            details?: {
                                [key: string]: unknown;
                            };
                        };
                    };
                };
            };
        };
    };
    "checkout.checkout": {
        parameters: {
            query?: never;
            header: {
                "idempotency-key": string;
            };
            path?: never;
            cookie?: never;
        };
        requestBody: {
            content: {
                /**
                 * @example {
                 *       "cartId": "3f8e2d1c-6b5a-4c9d-8e7f-1a2b3c4d5e6f",
                 *       "shippingAddress": {
                 *         "name": "Ann Example",
                 *         "line1": "1 Main St",
                 *         "line2": "Flat 2",
                 *         "city": "Berlin",
                 *         "postalCode": "10115",
                 *         "country": "DE"
                 *       },
                 *       "payment": {
                 *         "method": "cash_on_delivery"
                 *       }
                 *     }
                 */
                "application/json": {
                    /** Format: uuid */
                    cartId: string;
                    shippingAddress: {
                        name: string;
                        line1: string;
                        line2?: string | null;
                        city: string;
                        postalCode: string;
                        country: string;
                    };
                    payment: {
                        /** @enum {string} */
                        method: "store_credit" | "cash_on_delivery" | "card";
                    };
                    expectedTotalCents?: number;
                };
            };
        };
        responses: {
            /** @description Turn a cart into an order, once per Idempotency-Key */
            201: {
                headers: {
                    /** @description `true` when this is the stored answer to an earlier request with the same key */
                    "idempotent-replayed"?: string;
                    [name: string]: unknown;
                };
                content: {
                    /**
                     * @example {
                     *       "id": "7d1f6a52-3c2e-4b8e-9a3f-2f6c1d8e4b90",
                     *       "status": "placed",
                     *       "customerId": "0b6f3c1e-8d2a-4f6b-9c7e-5a4d3b2c1e0f",
                     *       "lines": [
                     *         {
                     *           "sku": "TEE-BLK-M",
                     *           "name": "Black T-shirt (M)",
                     *           "quantity": 2,
                     *           "unitPriceCents": 1999
                     *         }
                     *       ],
                     *       "subtotalCents": 3998,
                     *       "discountCents": 400,
                     *       "promotionCode": "FLASH-10",
                     *       "totalCents": 3598,
                     *       "currency": "EUR",
                     *       "shippingAddress": {
                     *         "name": "Ann Example",
                     *         "line1": "1 Main St",
                     *         "line2": "Flat 2",
                     *         "city": "Berlin",
                     *         "postalCode": "10115",
                     *         "country": "DE"
                     *       },
                     *       "hold": null,
                     *       "payment": {
                     *         "method": "cash_on_delivery",
                     *         "status": "pending",
                     *         "amountCents": 3598,
                     *         "refundedCents": 0,
                     *         "clientSecret": null
                     *       },
                     *       "shipment": null,
                     *       "history": [
                     *         {
                     *           "status": "placed",
                     *           "at": "2026-12-01T10:15:30.123Z"
                     *         }
                     *       ],
                     *       "createdAt": "2026-12-01T10:15:30.123Z",
                     *       "updatedAt": "2026-12-01T10:15:30.123Z"
                     *     }
                     */
                    "application/json": components["schemas"]["Order"];
                };
            };
            /**
             * @description `VALIDATION_FAILED`: a path, query, header or body field is missing, of the wrong type, out of range, too long, unknown (bodies reject unknown fields), or a string holds NUL or unpaired surrogates; `details: {in, issues: [{path, message}]}`
             *
             *     `MALFORMED_JSON`: the body is not JSON
             *
             *     `UNSUPPORTED_MEDIA_TYPE`: a body with a content-type other than JSON, or with a content-encoding (gzip, ...)
             *
             *     `CART_EMPTY`: checkout of a cart with no items
             */
            400: {
                headers: {
                    [name: string]: unknown;
                };
                content: {
                    "application/json": {
                        error: {
                            /** @enum {string} */
                            code: "VALIDATION_FAILED" | "MALFORMED_JSON" | "UNSUPPORTED_MEDIA_TYPE" | "CART_EMPTY";
                            message: string;
                            details?: {
                                [key: string]: unknown;
                            };
                        };
                    };
                };
            };
            /** @description `UNAUTHENTICATED`: protected route without a token, or a malformed, forged or expired one */
            401: {
                headers: {
                    [name: string]: unknown;
                };
                content: {
                    "application/json": {
                        error: {
                            /** @enum {string} */
                            code: "UNAUTHENTICATED";
                            message: string;
                            details?: {
                                [key: string]: unknown;
                            };
                        };
                    };
                };
            };
            /** @description `INSUFFICIENT_FUNDS`: checkout with store credit, or a wallet debit, that the balance does not cover; `details: {balanceCents, requiredCents}`; nothing changed */
            402: {
                headers: {
                    [name: string]: unknown;
                };
                content: {
                    "application/json": {
                        error: {
                            /** @enum {string} */
                            code: "INSUFFICIENT_FUNDS";
                            message: string;
                            details?: {
                                [key: string]: unknown;
                            };
                        };
                    };
                };
            };
            /** @description `FORBIDDEN`: a valid token whose role may not do this */
            403: {
                headers: {
                    [name: string]: unknown;
                };
                content: {
                    "application/json": {
                        error: {
                            /** @enum {string} */
                            code: "FORBIDDEN";
                            message: string;
                            details?: {
                                [key: string]: unknown;
                            };
                        };
                    };
                };
            };
            /** @description `NOT_FOUND`: no such route, product, cart, order or promotion code, or one that belongs to someone else */
            404: {
                headers: {
                    [name: string]: unknown;
                };
                content: {
                    "application/json": {
                        error: {
                            /** @enum {string} */
                            code: "NOT_FOUND";
                            message: string;
                            details?: {
                                [key: string]: unknown;
                            };
                        };
                    };
                };
            };
            /**
             * @description `PROMOTION_INACTIVE`: applying or redeeming a promotion before its `startsAt`, from its `endsAt` on, or while it is not `active`; `details: {code, active, startsAt, endsAt}`; nothing changed
             *
             *     `PROMOTION_MIN_SUBTOTAL`: applying or redeeming a promotion on a cart whose subtotal is under its `minSubtotalCents`; `details: {code, minSubtotalCents, subtotalCents}`; nothing changed
             *
             *     `PROMOTION_EXHAUSTED`: applying or redeeming a promotion whose `usageLimit` is reached, or lowering `usageLimit` below the uses taken; `details: {code, used, usageLimit}`; nothing changed
             *
             *     `PROMOTION_ALREADY_USED`: applying or redeeming a promotion that this customer's orders (not cancelled) already carry `perCustomerLimit` times; `details: {code, perCustomerLimit}`; nothing changed
             *
             *     `INSUFFICIENT_STOCK`: cart: `details: {sku, requested, available}`; adjustment below 0: the same; checkout: `details: {lines: [{sku, requested, available}]}` listing every short line
             *
             *     `CART_CLOSED`: changing or checking out a cart that is already an order
             *
             *     `PRICE_CHANGED`: checkout with an `expectedTotalCents` other than the order's total, or of a cart with a product whose currency changed since its line was set; `details: {cartId, expectedTotalCents, totalCents, currency}`; nothing changed
             *
             *     `PURCHASE_LIMIT`: a cart line or a checkout that would give one customer more units of a SKU than its `maxPerCustomer`, counting their orders that are not cancelled; `details: {sku, limit, alreadyBought, requested}`; nothing changed
             *
             *     `NOT_YET_AVAILABLE`: putting in a cart, or checking out, a product before its `availableFrom`; `details: {sku, availableFrom}`; nothing changed
             *
             *     `CURRENCY_MISMATCH`: products priced in different currencies in one cart, paying with store credit for a cart in another currency than the wallet's, or a promotion in another currency than the cart's; nothing changed
             *
             *     `PAYMENT_METHOD_UNAVAILABLE`: checkout by card while Stripe is not configured (`STRIPE_SECRET_KEY`, `STRIPE_WEBHOOK_SECRET`); nothing changed
             */
            409: {
                headers: {
                    [name: string]: unknown;
                };
                content: {
                    "application/json": {
                        error: {
                            /** @enum {string} */
                            code: "PROMOTION_INACTIVE" | "PROMOTION_MIN_SUBTOTAL" | "PROMOTION_EXHAUSTED" | "PROMOTION_ALREADY_USED" | "INSUFFICIENT_STOCK" | "CART_CLOSED" | "PRICE_CHANGED" | "PURCHASE_LIMIT" | "NOT_YET_AVAILABLE" | "CURRENCY_MISMATCH" | "PAYMENT_METHOD_UNAVAILABLE";
                            message: string;
                            details?: {
                                [key: string]: unknown;
                            };
                        };
                    };
                };
            };
            /** @description `BODY_TOO_LARGE`: a body over `MAX_BODY_BYTES` (64 KiB) */
            413: {
                headers: {
                    [name: string]: unknown;
                };
                content: {
                    "application/json": {
                        error: {
                            /** @enum {string} */
                            code: "BODY_TOO_LARGE";
                            message: string;
                            details?: {
                                [key: string]: unknown;
                            };
                        };
                    };
                };
            };
            /** @description `IDEMPOTENCY_KEY_REUSED`: an `Idempotency-Key` reused with a different body */
            422: {
                headers: {
                    [name: string]: unknown;
                };
                content: {
                    "application/json": {
                        error: {
                            /** @enum {string} */
                            code: "IDEMPOTENCY_KEY_REUSED";
                            message: string;
                            details?: {
                                [key: string]: unknown;
                            };
                        };
                    };
                };
            };
            /** @description `INTERNAL_ERROR`: a bug; logged with its stack, nothing internal is returned */
            500: {
                headers: {
                    [name: string]: unknown;
                };
                content: {
                    "application/json": {
                        error: {
                            /** @enum {string} */
                            code: "INTERNAL_ERROR";
                            message: string;
                            details?: {
                                [key: string]: unknown;
                            };
                        };
                    };
                };
            };
            /**
             * @description `SERVICE_UNAVAILABLE`: the database cannot be reached, or the connection was lost during the request, which may or may not have taken effect; retry (checkout with the same `Idempotency-Key` returns the order if the first attempt created it)
             *
             *     `PAYMENT_PROVIDER_UNAVAILABLE`: checkout by card when Stripe cannot be reached: the order exists and holds its stock (`details: {orderId}`); the same request with the same `Idempotency-Key` retries the payment, and an order left unpaid is cancelled after `PAYMENT_WINDOW_MINUTES`
             */
            503: {
                headers: {
                    [name: string]: unknown;
                };
                content: {
                    "application/json": {
                        error: {
                            /** @enum {string} */
                            code: "SERVICE_UNAVAILABLE" | "PAYMENT_PROVIDER_UNAVAILABLE";
                            message: string;
                            details?: {
                                [key: string]: unknown;
                            };
                        };
                    };
                };
            };
        };
    };
    "orders.list": {
        parameters: {
            query?: {
                limit?: number;
                cursor?: string;
                status?: "awaiting_payment" | "placed" | "on_hold" | "confirmed" | "shipped" | "delivered" | "cancelled";
            };
            header?: never;
            path?: never;
            cookie?: never;
        };
        requestBody?: never;
        responses: {
            /** @description Orders, newest first: a customer's own, or all of them for ops and admin */
            200: {
                headers: {
                    [name: string]: unknown;
                };
                content: {
                    /**
                     * @example {
                     *       "items": [
                     *         {
                     *           "id": "7d1f6a52-3c2e-4b8e-9a3f-2f6c1d8e4b90",
                     *           "status": "placed",
                     *           "customerId": "0b6f3c1e-8d2a-4f6b-9c7e-5a4d3b2c1e0f",
                     *           "lines": [
                     *             {
                     *               "sku": "TEE-BLK-M",
                     *               "name": "Black T-shirt (M)",
                     *               "quantity": 2,
                     *               "unitPriceCents": 1999
                     *             }
                     *           ],
                     *           "subtotalCents": 3998,
                     *           "discountCents": 400,
                     *           "promotionCode": "FLASH-10",
                     *           "totalCents": 3598,
                     *           "currency": "EUR",
                     *           "shippingAddress": {
                     *             "name": "Ann Example",
                     *             "line1": "1 Main St",
                     *             "line2": "Flat 2",
                     *             "city": "Berlin",
                     *             "postalCode": "10115",
                     *             "country": "DE"
                     *           },
                     *           "hold": null,
                     *           "payment": {
                     *             "method": "cash_on_delivery",
                     *             "status": "pending",
                     *             "amountCents": 3598,
                     *             "refundedCents": 0,
                     *             "clientSecret": null
                     *           },
                     *           "shipment": null,
                     *           "history": [
                     *             {
                     *               "status": "placed",
                     *               "at": "2026-12-01T10:15:30.123Z"
                     *             }
                     *           ],
                     *           "createdAt": "2026-12-01T10:15:30.123Z",
                     *           "updatedAt": "2026-12-01T10:15:30.123Z"
                     *         }
                     *       ],
                     *       "nextCursor": null
                     *     }
                     */
                    "application/json": components["schemas"]["OrderPage"];
                };
            };
            /**
             * @description `VALIDATION_FAILED`: a path, query, header or body field is missing, of the wrong type, out of range, too long, unknown (bodies reject unknown fields), or a string holds NUL or unpaired surrogates; `details: {in, issues: [{path, message}]}`
             *
             *     `INVALID_CURSOR`: a pagination cursor this API did not issue
             */
            400: {
                headers: {
                    [name: string]: unknown;
                };
                content: {
                    "application/json": {
                        error: {
                            /** @enum {string} */
                            code: "VALIDATION_FAILED" | "INVALID_CURSOR";
                            message: string;
                            details?: {
                                [key: string]: unknown;
                            };
                        };
                    };
                };
            };
            /** @description `UNAUTHENTICATED`: protected route without a token, or a malformed, forged or expired one */
            401: {
                headers: {
                    [name: string]: unknown;
                };
                content: {
                    "application/json": {
                        error: {
                            /** @enum {string} */
                            code: "UNAUTHENTICATED";
                            message: string;
                            details?: {
                                [key: string]: unknown;
                            };
                        };
                    };
                };
            };
            /** @description `FORBIDDEN`: a valid token whose role may not do this */
            403: {
                headers: {
                    [name: string]: unknown;
                };
                content: {
                    "application/json": {
                        error: {
                            /** @enum {string} */
                            code: "FORBIDDEN";
                            message: string;
                            details?: {
                                [key: string]: unknown;
                            };
                        };
                    };
                };
            };
            /** @description `INTERNAL_ERROR`: a bug; logged with its stack, nothing internal is returned */
            500: {
                headers: {
                    [name: string]: unknown;
                };
                content: {
                    "application/json": {
                        error: {
                            /** @enum {string} */
                            code: "INTERNAL_ERROR";
                            message: string;
                            details?: {
                                [key: string]: unknown;
                            };
                        };
                    };
                };
            };
            /** @description `SERVICE_UNAVAILABLE`: the database cannot be reached, or the connection was lost during the request, which may or may not have taken effect; retry (checkout with the same `Idempotency-Key` returns the order if the first attempt created it) */
            503: {
                headers: {
                    [name: string]: unknown;
                };
                content: {
                    "application/json": {
                        error: {
                            /** @enum {string} */
                            code: "SERVICE_UNAVAILABLE";
                            message: string;
                            details?: {
                                [key: string]: unknown;
                            };
                        };
                    };
                };
            };
        };
    };
    "orders.get": {
        parameters: {
            query?: never;
            header?: never;
            path: {
                id: string;
            };
            cookie?: never;
        };
        requestBody?: never;
        responses: {
            /** @description One order (its owner's, or any for ops and admin) */
            200: {
                headers: {
                    [name: string]: unknown;
                };
                content: {
                    /**
                     * @example {
                     *       "id": "7d1f6a52-3c2e-4b8e-9a3f-2f6c1d8e4b90",
                     *       "status": "placed",
                     *       "customerId": "0b6f3c1e-8d2a-4f6b-9c7e-5a4d3b2c1e0f",
                     *       "lines": [
                     *         {
                     *           "sku": "TEE-BLK-M",
                     *           "name": "Black T-shirt (M)",
                     *           "quantity": 2,
                     *           "unitPriceCents": 1999
                     *         }
                     *       ],
                     *       "subtotalCents": 3998,
                     *       "discountCents": 400,
                     *       "promotionCode": "FLASH-10",
                     *       "totalCents": 3598,
                     *       "currency": "EUR",
                     *       "shippingAddress": {
                     *         "name": "Ann Example",
                     *         "line1": "1 Main St",
                     *         "line2": "Flat 2",
                     *         "city": "Berlin",
                     *         "postalCode": "10115",
                     *         "country": "DE"
                     *       },
                     *       "hold": null,
                     *       "payment": {
                     *         "method": "cash_on_delivery",
                     *         "status": "pending",
                     *         "amountCents": 3598,
                     *         "refundedCents": 0,
                     *         "clientSecret": null
                     *       },
                     *       "shipment": null,
                     *       "history": [
                     *         {
                     *           "status": "placed",
                     *           "at": "2026-12-01T10:15:30.123Z"
                     *         }
                     *       ],
                     *       "createdAt": "2026-12-01T10:15:30.123Z",
                     *       "updatedAt": "2026-12-01T10:15:30.123Z"
                     *     }
                     */
                    "application/json": components["schemas"]["Order"];
                };
            };
            /**
             * @description `VALIDATION_FAILED`: a path, query, header or body field is missing, of the wrong type, out of range, too long, unknown (bodies reject unknown fields), or a string holds NUL or unpaired surrogates; `details: {in, issues: [{path, message}]}`
             *
             *     `MALFORMED_PATH`: the path is not valid percent-encoding
             */
            400: {
                headers: {
                    [name: string]: unknown;
                };
                content: {
                    "application/json": {
                        error: {
                            /** @enum {string} */
                            code: "VALIDATION_FAILED" | "MALFORMED_PATH";
                            message: string;
                            details?: {
                                [key: string]: unknown;
                            };
                        };
                    };
                };
            };
            /** @description `UNAUTHENTICATED`: protected route without a token, or a malformed, forged or expired one */
            401: {
                headers: {
                    [name: string]: unknown;
                };
                content: {
                    "application/json": {
                        error: {
                            /** @enum {string} */
                            code: "UNAUTHENTICATED";
                            message: string;
                            details?: {
                                [key: string]: unknown;
                            };
                        };
                    };
                };
            };
            /** @description `FORBIDDEN`: a valid token whose role may not do this */
            403: {
                headers: {
                    [name: string]: unknown;
                };
                content: {
                    "application/json": {
                        error: {
                            /** @enum {string} */
                            code: "FORBIDDEN";
                            message: string;
                            details?: {
                                [key: string]: unknown;
                            };
                        };
                    };
                };
            };
            /** @description `NOT_FOUND`: no such route, product, cart, order or promotion code, or one that belongs to someone else */
            404: {
                headers: {
                    [name: string]: unknown;
                };
                content: {
                    "application/json": {
                        error: {
                            /** @enum {string} */
                            code: "NOT_FOUND";
                            message: string;
                            details?: {
                                [key: string]: unknown;
                            };
                        };
                    };
                };
            };
            /** @description `INTERNAL_ERROR`: a bug; logged with its stack, nothing internal is returned */
            500: {
                headers: {
                    [name: string]: unknown;
                };
                content: {
                    "application/json": {
                        error: {
                            /** @enum {string} */
                            code: "INTERNAL_ERROR";
                            message: string;
                            details?: {
                                [key: string]: unknown;
                            };
                        };
                    };
                };
            };
            /** @description `SERVICE_UNAVAILABLE`: the database cannot be reached, or the connection was lost during the request, which may or may not have taken effect; retry (checkout with the same `Idempotency-Key` returns the order if the first attempt created it) */
            503: {
                headers: {
                    [name: string]: unknown;
                };
                content: {
                    "application/json": {
                        error: {
                            /** @enum {string} */
                            code: "SERVICE_UNAVAILABLE";
                            message: string;
                            details?: {
                                [key: string]: unknown;
                            };
                        };
                    };
                };
            };
        };
    };
    "orders.cancel": {
        parameters: {
            query?: never;
            header?: never;
            path: {
                id: string;
            };
            cookie?: never;
        };
        requestBody?: {
            content: {
                /**
                 * @example {
                 *       "reason": "ordered the wrong size"
                 *     }
                 */
                "application/json": {
                    reason?: string;
                };
            };
        };
        responses: {
            /** @description Cancel an order: its units go back, and its money (its owner, ops or admin) */
            200: {
                headers: {
                    [name: string]: unknown;
                };
                content: {
                    /**
                     * @example {
                     *       "id": "7d1f6a52-3c2e-4b8e-9a3f-2f6c1d8e4b90",
                     *       "status": "cancelled",
                     *       "customerId": "0b6f3c1e-8d2a-4f6b-9c7e-5a4d3b2c1e0f",
                     *       "lines": [
                     *         {
                     *           "sku": "TEE-BLK-M",
                     *           "name": "Black T-shirt (M)",
                     *           "quantity": 2,
                     *           "unitPriceCents": 1999
                     *         }
                     *       ],
                     *       "subtotalCents": 3998,
                     *       "discountCents": 400,
                     *       "promotionCode": "FLASH-10",
                     *       "totalCents": 3598,
                     *       "currency": "EUR",
                     *       "shippingAddress": {
                     *         "name": "Ann Example",
                     *         "line1": "1 Main St",
                     *         "line2": "Flat 2",
                     *         "city": "Berlin",
                     *         "postalCode": "10115",
                     *         "country": "DE"
                     *       },
                     *       "hold": null,
                     *       "payment": {
                     *         "method": "store_credit",
                     *         "status": "refunded",
                     *         "amountCents": 3598,
                     *         "refundedCents": 3598,
                     *         "clientSecret": null
                     *       },
                     *       "shipment": null,
                     *       "history": [
                     *         {
                     *           "status": "placed",
                     *           "at": "2026-12-01T10:15:30.123Z"
                     *         },
                     *         {
                     *           "status": "confirmed",
                     *           "at": "2026-12-01T10:15:31.004Z"
                     *         },
                     *         {
                     *           "status": "cancelled",
                     *           "at": "2026-12-01T11:00:00.000Z"
                     *         }
                     *       ],
                     *       "createdAt": "2026-12-01T10:15:30.123Z",
                     *       "updatedAt": "2026-12-01T11:00:00.000Z"
                     *     }
                     */
                    "application/json": components["schemas"]["Order"];
                };
            };
            /**
             * @description `VALIDATION_FAILED`: a path, query, header or body field is missing, of the wrong type, out of range, too long, unknown (bodies reject unknown fields), or a string holds NUL or unpaired surrogates; `details: {in, issues: [{path, message}]}`
             *
             *     `MALFORMED_JSON`: the body is not JSON
             *
             *     `UNSUPPORTED_MEDIA_TYPE`: a body with a content-type other than JSON, or with a content-encoding (gzip, ...)
             *
             *     `MALFORMED_PATH`: the path is not valid percent-encoding
             */
            400: {
                headers: {
                    [name: string]: unknown;
                };
                content: {
                    "application/json": {
                        error: {
                            /** @enum {string} */
                            code: "VALIDATION_FAILED" | "MALFORMED_JSON" | "UNSUPPORTED_MEDIA_TYPE" | "MALFORMED_PATH";
                            message: string;
                            details?: {
                                [key: string]: unknown;
                            };
                        };
                    };
                };
            };
            /** @description `UNAUTHENTICATED`: protected route without a token, or a malformed, forged or expired one */
            401: {
                headers: {
                    [name: string]: unknown;
                };
                content: {
                    "application/json": {
                        error: {
                            /** @enum {string} */
                            code: "UNAUTHENTICATED";
                            message: string;
                            details?: {
                                [key: string]: unknown;
                            };
                        };
                    };
                };
            };
            /** @description `FORBIDDEN`: a valid token whose role may not do this */
            403: {
                headers: {
                    [name: string]: unknown;
                };
                content: {
                    "application/json": {
                        error: {
                            /** @enum {string} */
                            code: "FORBIDDEN";
                            message: string;
                            details?: {
                                [key: string]: unknown;
                            };
                        };
                    };
                };
            };
            /** @description `NOT_FOUND`: no such route, product, cart, order or promotion code, or one that belongs to someone else */
            404: {
                headers: {
                    [name: string]: unknown;
                };
                content: {
                    "application/json": {
                        error: {
                            /** @enum {string} */
                            code: "NOT_FOUND";
                            message: string;
                            details?: {
                                [key: string]: unknown;
                            };
                        };
                    };
                };
            };
            /** @description `INVALID_STATE`: a step the order's status does not allow: cancelling one that is `shipped`, `delivered` or `cancelled`, shipping one that is not `confirmed`, delivering one that is not `shipped`, releasing one that is not `on_hold`; `details: {orderId, status, allowed}` */
            409: {
                headers: {
                    [name: string]: unknown;
                };
                content: {
                    "application/json": {
                        error: {
                            /** @enum {string} */
                            code: "INVALID_STATE";
                            message: string;
                            details?: {
                                [key: string]: unknown;
                            };
                        };
                    };
                };
            };
            /** @description `BODY_TOO_LARGE`: a body over `MAX_BODY_BYTES` (64 KiB) */
            413: {
                headers: {
                    [name: string]: unknown;
                };
                content: {
                    "application/json": {
                        error: {
                            /** @enum {string} */
                            code: "BODY_TOO_LARGE";
                            message: string;
                            details?: {
                                [key: string]: unknown;
                            };
                        };
                    };
                };
            };
            /** @description `INTERNAL_ERROR`: a bug; logged with its stack, nothing internal is returned */
            500: {
                headers: {
                    [name: string]: unknown;
                };
                content: {
                    "application/json": {
                        error: {
                            /** @enum {string} */
                            code: "INTERNAL_ERROR";
                            message: string;
                            details?: {
                                [key: string]: unknown;
                            };
                        };
                    };
                };
            };
            /** @description `SERVICE_UNAVAILABLE`: the database cannot be reached, or the connection was lost during the request, which may or may not have taken effect; retry (checkout with the same `Idempotency-Key` returns the order if the first attempt created it) */
            503: {
                headers: {
                    [name: string]: unknown;
                };
                content: {
                    "application/json": {
                        error: {
                            /** @enum {string} */
                            code: "SERVICE_UNAVAILABLE";
                            message: string;
                            details?: {
                                [key: string]: unknown;
                            };
                        };
                    };
                };
            };
        };
    };
    "orders.release": {
        parameters: {
            query?: never;
            header?: never;
            path: {
                id: string;
            };
            cookie?: never;
        };
        requestBody?: never;
        responses: {
            /** @description Release an order held as a suspected duplicate */
            200: {
                headers: {
                    [name: string]: unknown;
                };
                content: {
                    /**
                     * @example {
                     *       "id": "5e2a9c14-7b3d-4e1f-8a6c-0d9b8e7f6a5c",
                     *       "status": "placed",
                     *       "customerId": "0b6f3c1e-8d2a-4f6b-9c7e-5a4d3b2c1e0f",
                     *       "lines": [
                     *         {
                     *           "sku": "TEE-BLK-M",
                     *           "name": "Black T-shirt (M)",
                     *           "quantity": 2,
                     *           "unitPriceCents": 1999
                     *         }
                     *       ],
                     *       "subtotalCents": 3998,
                     *       "discountCents": 400,
                     *       "promotionCode": "FLASH-10",
                     *       "totalCents": 3598,
                     *       "currency": "EUR",
                     *       "shippingAddress": {
                     *         "name": "Ann Example",
                     *         "line1": "1 Main St",
                     *         "line2": "Flat 2",
                     *         "city": "Berlin",
                     *         "postalCode": "10115",
                     *         "country": "DE"
                     *       },
                     *       "hold": {
                     *         "reason": "SUSPECTED_DUPLICATE",
                     *         "duplicateOf": "7d1f6a52-3c2e-4b8e-9a3f-2f6c1d8e4b90",
                     *         "releasedBy": "9a8b7c6d-5e4f-4a3b-8c2d-1e0f9a8b7c6d",
                     *         "releasedAt": "2026-12-01T10:20:00.000Z"
                     *       },
                     *       "payment": {
                     *         "method": "cash_on_delivery",
                     *         "status": "pending",
                     *         "amountCents": 3598,
                     *         "refundedCents": 0,
                     *         "clientSecret": null
                     *       },
                     *       "shipment": null,
                     *       "history": [
                     *         {
                     *           "status": "on_hold",
                     *           "at": "2026-12-01T10:15:30.123Z"
                     *         },
                     *         {
                     *           "status": "placed",
                     *           "at": "2026-12-01T10:20:00.000Z"
                     *         }
                     *       ],
                     *       "createdAt": "2026-12-01T10:15:30.123Z",
                     *       "updatedAt": "2026-12-01T10:20:00.000Z"
                     *     }
                     */
                    "application/json": components["schemas"]["Order"];
                };
            };
            /**
             * @description `VALIDATION_FAILED`: a path, query, header or body field is missing, of the wrong type, out of range, too long, unknown (bodies reject unknown fields), or a string holds NUL or unpaired surrogates; `details: {in, issues: [{path, message}]}`
             *
             *     `MALFORMED_PATH`: the path is not valid percent-encoding
             */
            400: {
                headers: {
                    [name: string]: unknown;
                };
                content: {
                    "application/json": {
                        error: {
                            /** @enum {string} */
                            code: "VALIDATION_FAILED" | "MALFORMED_PATH";
                            message: string;
                            details?: {
                                [key: string]: unknown;
                            };
                        };
                    };
                };
            };
            /** @description `UNAUTHENTICATED`: protected route without a token, or a malformed, forged or expired one */
            401: {
                headers: {
                    [name: string]: unknown;
                };
                content: {
                    "application/json": {
                        error: {
                            /** @enum {string} */
                            code: "UNAUTHENTICATED";
                            message: string;
                            details?: {
                                [key: string]: unknown;
                            };
                        };
                    };
                };
            };
            /** @description `FORBIDDEN`: a valid token whose role may not do this */
            403: {
                headers: {
                    [name: string]: unknown;
                };
                content: {
                    "application/json": {
                        error: {
                            /** @enum {string} */
                            code: "FORBIDDEN";
                            message: string;
                            details?: {
                                [key: string]: unknown;
                            };
                        };
                    };
                };
            };
            /** @description `NOT_FOUND`: no such route, product, cart, order or promotion code, or one that belongs to someone else */
            404: {
                headers: {
                    [name: string]: unknown;
                };
                content: {
                    "application/json": {
                        error: {
                            /** @enum {string} */
                            code: "NOT_FOUND";
                            message: string;
                            details?: {
                                [key: string]: unknown;
                            };
                        };
                    };
                };
            };
            /** @description `INVALID_STATE`: a step the order's status does not allow: cancelling one that is `shipped`, `delivered` or `cancelled`, shipping one that is not `confirmed`, delivering one that is not `shipped`, releasing one that is not `on_hold`; `details: {orderId, status, allowed}` */
            409: {
                headers: {
                    [name: string]: unknown;
                };
                content: {
                    "application/json": {
                        error: {
                            /** @enum {string} */
                            code: "INVALID_STATE";
                            message: string;
                            details?: {
                                [key: string]: unknown;
                            };
                        };
                    };
                };
            };
            /** @description `INTERNAL_ERROR`: a bug; logged with its stack, nothing internal is returned */
            500: {
                headers: {
                    [name: string]: unknown;
                };
                content: {
                    "application/json": {
                        error: {
                            /** @enum {string} */
                            code: "INTERNAL_ERROR";
                            message: string;
                            details?: {
                                [key: string]: unknown;
                            };
                        };
                    };
                };
            };
            /** @description `SERVICE_UNAVAILABLE`: the database cannot be reached, or the connection was lost during the request, which may or may not have taken effect; retry (checkout with the same `Idempotency-Key` returns the order if the first attempt created it) */
            503: {
                headers: {
                    [name: string]: unknown;
                };
                content: {
                    "application/json": {
                        error: {
                            /** @enum {string} */
                            code: "SERVICE_UNAVAILABLE";
                            message: string;
                            details?: {
                                [key: string]: unknown;
                            };
                        };
                    };
                };
            };
        };
    };
    "orders.ship": {
        parameters: {
            query?: never;
            header?: never;
            path: {
                id: string;
            };
            cookie?: never;
        };
        requestBody: {
            content: {
                /**
                 * @example {
                 *       "carrier": "DHL",
                 *       "trackingNumber": "00340434161094042557",
                 *       "trackingUrl": "https://www.dhl.de/en/privatkunden/pakete-empfangen/verfolgen.html?piececode=00340434161094042557"
                 *     }
                 */
                "application/json": {
                    carrier: string;
                    trackingNumber: string;
                    /** Format: uri */
                    trackingUrl?: string;
                };
            };
        };
        responses: {
            /** @description Hand a confirmed order to a carrier; the customer gets the tracking link */
            200: {
                headers: {
                    [name: string]: unknown;
                };
                content: {
                    /**
                     * @example {
                     *       "id": "7d1f6a52-3c2e-4b8e-9a3f-2f6c1d8e4b90",
                     *       "status": "shipped",
                     *       "customerId": "0b6f3c1e-8d2a-4f6b-9c7e-5a4d3b2c1e0f",
                     *       "lines": [
                     *         {
                     *           "sku": "TEE-BLK-M",
                     *           "name": "Black T-shirt (M)",
                     *           "quantity": 2,
                     *           "unitPriceCents": 1999
                     *         }
                     *       ],
                     *       "subtotalCents": 3998,
                     *       "discountCents": 400,
                     *       "promotionCode": "FLASH-10",
                     *       "totalCents": 3598,
                     *       "currency": "EUR",
                     *       "shippingAddress": {
                     *         "name": "Ann Example",
                     *         "line1": "1 Main St",
                     *         "line2": "Flat 2",
                     *         "city": "Berlin",
                     *         "postalCode": "10115",
                     *         "country": "DE"
                     *       },
                     *       "hold": null,
                     *       "payment": {
                     *         "method": "cash_on_delivery",
                     *         "status": "pending",
                     *         "amountCents": 3598,
                     *         "refundedCents": 0,
                     *         "clientSecret": null
                     *       },
                     *       "shipment": {
                     *         "carrier": "DHL",
                     *         "trackingNumber": "00340434161094042557",
                     *         "trackingUrl": "https://www.dhl.de/en/privatkunden/pakete-empfangen/verfolgen.html?piececode=00340434161094042557",
                     *         "shippedAt": "2026-12-02T09:00:00.000Z",
                     *         "deliveredAt": null
                     *       },
                     *       "history": [
                     *         {
                     *           "status": "placed",
                     *           "at": "2026-12-01T10:15:30.123Z"
                     *         },
                     *         {
                     *           "status": "confirmed",
                     *           "at": "2026-12-01T10:15:31.004Z"
                     *         },
                     *         {
                     *           "status": "shipped",
                     *           "at": "2026-12-02T09:00:00.000Z"
                     *         }
                     *       ],
                     *       "createdAt": "2026-12-01T10:15:30.123Z",
                     *       "updatedAt": "2026-12-02T09:00:00.000Z"
                     *     }
                     */
                    "application/json": components["schemas"]["Order"];
                };
            };
            /**
             * @description `VALIDATION_FAILED`: a path, query, header or body field is missing, of the wrong type, out of range, too long, unknown (bodies reject unknown fields), or a string holds NUL or unpaired surrogates; `details: {in, issues: [{path, message}]}`
             *
             *     `MALFORMED_JSON`: the body is not JSON
             *
             *     `UNSUPPORTED_MEDIA_TYPE`: a body with a content-type other than JSON, or with a content-encoding (gzip, ...)
             *
             *     `MALFORMED_PATH`: the path is not valid percent-encoding
             */
            400: {
                headers: {
                    [name: string]: unknown;
                };
                content: {
                    "application/json": {
                        error: {
                            /** @enum {string} */
                            code: "VALIDATION_FAILED" | "MALFORMED_JSON" | "UNSUPPORTED_MEDIA_TYPE" | "MALFORMED_PATH";
                            message: string;
                            details?: {
                                [key: string]: unknown;
                            };
                        };
                    };
                };
            };
            /** @description `UNAUTHENTICATED`: protected route without a token, or a malformed, forged or expired one */
            401: {
                headers: {
                    [name: string]: unknown;
                };
                content: {
                    "application/json": {
                        error: {
                            /** @enum {string} */
                            code: "UNAUTHENTICATED";
                            message: string;
                            details?: {
                                [key: string]: unknown;
                            };
                        };
                    };
                };
            };
            /** @description `FORBIDDEN`: a valid token whose role may not do this */
            403: {
                headers: {
                    [name: string]: unknown;
                };
                content: {
                    "application/json": {
                        error: {
                            /** @enum {string} */
                            code: "FORBIDDEN";
                            message: string;
                            details?: {
                                [key: string]: unknown;
                            };
                        };
                    };
                };
            };
            /** @description `NOT_FOUND`: no such route, product, cart, order or promotion code, or one that belongs to someone else */
            404: {
                headers: {
                    [name: string]: unknown;
                };
                content: {
                    "application/json": {
                        error: {
                            /** @enum {string} */
                            code: "NOT_FOUND";
                            message: string;
                            details?: {
                                [key: string]: unknown;
                            };
                        };
                    };
                };
            };
            /** @description `INVALID_STATE`: a step the order's status does not allow: cancelling one that is `shipped`, `delivered` or `cancelled`, shipping one that is not `confirmed`, delivering one that is not `shipped`, releasing one that is not `on_hold`; `details: {orderId, status, allowed}` */
            409: {
                headers: {
                    [name: string]: unknown;
                };
                content: {
                    "application/json": {
                        error: {
                            /** @enum {string} */
                            code: "INVALID_STATE";
                            message: string;
                            details?: {
                                [key: string]: unknown;
                            };
                        };
                    };
                };
            };
            /** @description `BODY_TOO_LARGE`: a body over `MAX_BODY_BYTES` (64 KiB) */
            413: {
                headers: {
                    [name: string]: unknown;
                };
                content: {
                    "application/json": {
                        error: {
                            /** @enum {string} */
                            code: "BODY_TOO_LARGE";
                            message: string;
                            details?: {
                                [key: string]: unknown;
                            };
                        };
                    };
                };
            };
            /** @description `INTERNAL_ERROR`: a bug; logged with its stack, nothing internal is returned */
            500: {
                headers: {
                    [name: string]: unknown;
                };
                content: {
                    "application/json": {
                        error: {
                            /** @enum {string} */
                            code: "INTERNAL_ERROR";
                            message: string;
                            details?: {
                                [key: string]: unknown;
                            };
                        };
                    };
                };
            };
            /** @description `SERVICE_UNAVAILABLE`: the database cannot be reached, or the connection was lost during the request, which may or may not have taken effect; retry (checkout with the same `Idempotency-Key` returns the order if the first attempt created it) */
            503: {
                headers: {
                    [name: string]: unknown;
                };
                content: {
                    "application/json": {
                        error: {
                            /** @enum {string} */
                            code: "SERVICE_UNAVAILABLE";
                            message: string;
                            details?: {
                                [key: string]: unknown;
                            };
                        };
                    };
                };
            };
        };
    };
    "orders.deliver": {
        parameters: {
            query?: never;
            header?: never;
            path: {
                id: string;
            };
            cookie?: never;
        };
        requestBody?: never;
        responses: {
            /** @description Record that a shipped order arrived (cash on delivery is paid then) */
            200: {
                headers: {
                    [name: string]: unknown;
                };
                content: {
                    /**
                     * @example {
                     *       "id": "7d1f6a52-3c2e-4b8e-9a3f-2f6c1d8e4b90",
                     *       "status": "delivered",
                     *       "customerId": "0b6f3c1e-8d2a-4f6b-9c7e-5a4d3b2c1e0f",
                     *       "lines": [
                     *         {
                     *           "sku": "TEE-BLK-M",
                     *           "name": "Black T-shirt (M)",
                     *           "quantity": 2,
                     *           "unitPriceCents": 1999
                     *         }
                     *       ],
                     *       "subtotalCents": 3998,
                     *       "discountCents": 400,
                     *       "promotionCode": "FLASH-10",
                     *       "totalCents": 3598,
                     *       "currency": "EUR",
                     *       "shippingAddress": {
                     *         "name": "Ann Example",
                     *         "line1": "1 Main St",
                     *         "line2": "Flat 2",
                     *         "city": "Berlin",
                     *         "postalCode": "10115",
                     *         "country": "DE"
                     *       },
                     *       "hold": null,
                     *       "payment": {
                     *         "method": "cash_on_delivery",
                     *         "status": "paid",
                     *         "amountCents": 3598,
                     *         "refundedCents": 0,
                     *         "clientSecret": null
                     *       },
                     *       "shipment": {
                     *         "carrier": "DHL",
                     *         "trackingNumber": "00340434161094042557",
                     *         "trackingUrl": "https://www.dhl.de/en/privatkunden/pakete-empfangen/verfolgen.html?piececode=00340434161094042557",
                     *         "shippedAt": "2026-12-02T09:00:00.000Z",
                     *         "deliveredAt": "2026-12-03T14:30:00.000Z"
                     *       },
                     *       "history": [
                     *         {
                     *           "status": "placed",
                     *           "at": "2026-12-01T10:15:30.123Z"
                     *         },
                     *         {
                     *           "status": "confirmed",
                     *           "at": "2026-12-01T10:15:31.004Z"
                     *         },
                     *         {
                     *           "status": "shipped",
                     *           "at": "2026-12-02T09:00:00.000Z"
                     *         },
                     *         {
                     *           "status": "delivered",
                     *           "at": "2026-12-03T14:30:00.000Z"
                     *         }
                     *       ],
                     *       "createdAt": "2026-12-01T10:15:30.123Z",
                     *       "updatedAt": "2026-12-03T14:30:00.000Z"
                     *     }
                     */
                    "application/json": components["schemas"]["Order"];
                };
            };
            /**
             * @description `VALIDATION_FAILED`: a path, query, header or body field is missing, of the wrong type, out of range, too long, unknown (bodies reject unknown fields), or a string holds NUL or unpaired surrogates; `details: {in, issues: [{path, message}]}`
             *
             *     `MALFORMED_PATH`: the path is not valid percent-encoding
             */
            400: {
                headers: {
                    [name: string]: unknown;
                };
                content: {
                    "application/json": {
                        error: {
                            /** @enum {string} */
                            code: "VALIDATION_FAILED" | "MALFORMED_PATH";
                            message: string;
                            details?: {
                                [key: string]: unknown;
                            };
                        };
                    };
                };
            };
            /** @description `UNAUTHENTICATED`: protected route without a token, or a malformed, forged or expired one */
            401: {
                headers: {
                    [name: string]: unknown;
                };
                content: {
                    "application/json": {
                        error: {
                            /** @enum {string} */
                            code: "UNAUTHENTICATED";
                            message: string;
                            details?: {
                                [key: string]: unknown;
                            };
                        };
                    };
                };
            };
            /** @description `FORBIDDEN`: a valid token whose role may not do this */
            403: {
                headers: {
                    [name: string]: unknown;
                };
                content: {
                    "application/json": {
                        error: {
                            /** @enum {string} */
                            code: "FORBIDDEN";
                            message: string;
                            details?: {
                                [key: string]: unknown;
                            };
                        };
                    };
                };
            };
            /** @description `NOT_FOUND`: no such route, product, cart, order or promotion code, or one that belongs to someone else */
            404: {
                headers: {
                    [name: string]: unknown;
                };
                content: {
                    "application/json": {
                        error: {
                            /** @enum {string} */
                            code: "NOT_FOUND";
                            message: string;
                            details?: {
                                [key: string]: unknown;
                            };
                        };
                    };
                };
            };
            /** @description `INVALID_STATE`: a step the order's status does not allow: cancelling one that is `shipped`, `delivered` or `cancelled`, shipping one that is not `confirmed`, delivering one that is not `shipped`, releasing one that is not `on_hold`; `details: {orderId, status, allowed}` */
            409: {
                headers: {
                    [name: string]: unknown;
                };
                content: {
                    "application/json": {
                        error: {
                            /** @enum {string} */
                            code: "INVALID_STATE";
                            message: string;
                            details?: {
                                [key: string]: unknown;
                            };
                        };
                    };
                };
            };
            /** @description `INTERNAL_ERROR`: a bug; logged with its stack, nothing internal is returned */
            500: {
                headers: {
                    [name: string]: unknown;
                };
                content: {
                    "application/json": {
                        error: {
                            /** @enum {string} */
                            code: "INTERNAL_ERROR";
                            message: string;
                            details?: {
                                [key: string]: unknown;
                            };
                        };
                    };
                };
            };
            /** @description `SERVICE_UNAVAILABLE`: the database cannot be reached, or the connection was lost during the request, which may or may not have taken effect; retry (checkout with the same `Idempotency-Key` returns the order if the first attempt created it) */
            503: {
                headers: {
                    [name: string]: unknown;
                };
                content: {
                    "application/json": {
                        error: {
                            /** @enum {string} */
                            code: "SERVICE_UNAVAILABLE";
                            message: string;
                            details?: {
                                [key: string]: unknown;
                            };
                        };
                    };
                };
            };
        };
    };
    "wallet.mine": {
        parameters: {
            query?: {
                limit?: number;
                cursor?: string;
            };
            header?: never;
            path?: never;
            cookie?: never;
        };
        requestBody?: never;
        responses: {
            /** @description The caller's store credit and its transactions, newest first */
            200: {
                headers: {
                    [name: string]: unknown;
                };
                content: {
                    /**
                     * @example {
                     *       "balanceCents": 6402,
                     *       "currency": "EUR",
                     *       "items": [
                     *         {
                     *           "id": 42,
                     *           "at": "2026-12-01T10:15:30.123Z",
                     *           "amountCents": -3598,
                     *           "reason": "order_payment",
                     *           "orderId": "7d1f6a52-3c2e-4b8e-9a3f-2f6c1d8e4b90",
                     *           "note": null,
                     *           "balanceAfterCents": 6402
                     *         },
                     *         {
                     *           "id": 41,
                     *           "at": "2026-11-30T08:00:00.000Z",
                     *           "amountCents": 10000,
                     *           "reason": "top_up",
                     *           "orderId": null,
                     *           "note": "gift card GC-1234",
                     *           "balanceAfterCents": 10000
                     *         }
                     *       ],
                     *       "nextCursor": null
                     *     }
                     */
                    "application/json": components["schemas"]["Wallet"];
                };
            };
            /**
             * @description `VALIDATION_FAILED`: a path, query, header or body field is missing, of the wrong type, out of range, too long, unknown (bodies reject unknown fields), or a string holds NUL or unpaired surrogates; `details: {in, issues: [{path, message}]}`
             *
             *     `INVALID_CURSOR`: a pagination cursor this API did not issue
             */
            400: {
                headers: {
                    [name: string]: unknown;
                };
                content: {
                    "application/json": {
                        error: {
                            /** @enum {string} */
                            code: "VALIDATION_FAILED" | "INVALID_CURSOR";
                            message: string;
                            details?: {
                                [key: string]: unknown;
                            };
                        };
                    };
                };
            };
            /** @description `UNAUTHENTICATED`: protected route without a token, or a malformed, forged or expired one */
            401: {
                headers: {
                    [name: string]: unknown;
                };
                content: {
                    "application/json": {
                        error: {
                            /** @enum {string} */
                            code: "UNAUTHENTICATED";
                            message: string;
                            details?: {
                                [key: string]: unknown;
                            };
                        };
                    };
                };
            };
            /** @description `FORBIDDEN`: a valid token whose role may not do this */
            403: {
                headers: {
                    [name: string]: unknown;
                };
                content: {
                    "application/json": {
                        error: {
                            /** @enum {string} */
                            code: "FORBIDDEN";
                            message: string;
                            details?: {
                                [key: string]: unknown;
                            };
                        };
                    };
                };
            };
            /** @description `INTERNAL_ERROR`: a bug; logged with its stack, nothing internal is returned */
            500: {
                headers: {
                    [name: string]: unknown;
                };
                content: {
                    "application/json": {
                        error: {
                            /** @enum {string} */
                            code: "INTERNAL_ERROR";
                            message: string;
                            details?: {
                                [key: string]: unknown;
                            };
                        };
                    };
                };
            };
            /** @description `SERVICE_UNAVAILABLE`: the database cannot be reached, or the connection was lost during the request, which may or may not have taken effect; retry (checkout with the same `Idempotency-Key` returns the order if the first attempt created it) */
            503: {
                headers: {
                    [name: string]: unknown;
                };
                content: {
                    "application/json": {
                        error: {
                            /** @enum {string} */
                            code: "SERVICE_UNAVAILABLE";
                            message: string;
                            details?: {
                                [key: string]: unknown;
                            };
                        };
                    };
                };
            };
        };
    };
    "wallet.ofCustomer": {
        parameters: {
            query?: {
                limit?: number;
                cursor?: string;
            };
            header?: never;
            path: {
                id: string;
            };
            cookie?: never;
        };
        requestBody?: never;
        responses: {
            /** @description A customer's store credit and its transactions, newest first */
            200: {
                headers: {
                    [name: string]: unknown;
                };
                content: {
                    /**
                     * @example {
                     *       "balanceCents": 10000,
                     *       "currency": "EUR",
                     *       "items": [
                     *         {
                     *           "id": 41,
                     *           "at": "2026-11-30T08:00:00.000Z",
                     *           "amountCents": 10000,
                     *           "reason": "top_up",
                     *           "orderId": null,
                     *           "note": "gift card GC-1234",
                     *           "balanceAfterCents": 10000
                     *         }
                     *       ],
                     *       "nextCursor": null
                     *     }
                     */
                    "application/json": components["schemas"]["Wallet"];
                };
            };
            /**
             * @description `VALIDATION_FAILED`: a path, query, header or body field is missing, of the wrong type, out of range, too long, unknown (bodies reject unknown fields), or a string holds NUL or unpaired surrogates; `details: {in, issues: [{path, message}]}`
             *
             *     `MALFORMED_PATH`: the path is not valid percent-encoding
             *
             *     `INVALID_CURSOR`: a pagination cursor this API did not issue
             */
            400: {
                headers: {
                    [name: string]: unknown;
                };
                content: {
                    "application/json": {
                        error: {
                            /** @enum {string} */
                            code: "VALIDATION_FAILED" | "MALFORMED_PATH" | "INVALID_CURSOR";
                            message: string;
                            details?: {
                                [key: string]: unknown;
                            };
                        };
                    };
                };
            };
            /** @description `UNAUTHENTICATED`: protected route without a token, or a malformed, forged or expired one */
            401: {
                headers: {
                    [name: string]: unknown;
                };
                content: {
                    "application/json": {
                        error: {
                            /** @enum {string} */
                            code: "UNAUTHENTICATED";
                            message: string;
                            details?: {
                                [key: string]: unknown;
                            };
                        };
                    };
                };
            };
            /** @description `FORBIDDEN`: a valid token whose role may not do this */
            403: {
                headers: {
                    [name: string]: unknown;
                };
                content: {
                    "application/json": {
                        error: {
                            /** @enum {string} */
                            code: "FORBIDDEN";
                            message: string;
                            details?: {
                                [key: string]: unknown;
                            };
                        };
                    };
                };
            };
            /** @description `NOT_FOUND`: no such route, product, cart, order or promotion code, or one that belongs to someone else */
            404: {
                headers: {
                    [name: string]: unknown;
                };
                content: {
                    "application/json": {
                        error: {
                            /** @enum {string} */
                            code: "NOT_FOUND";
                            message: string;
                            details?: {
                                [key: string]: unknown;
                            };
                        };
                    };
                };
            };
            /** @description `INTERNAL_ERROR`: a bug; logged with its stack, nothing internal is returned */
            500: {
                headers: {
                    [name: string]: unknown;
                };
                content: {
                    "application/json": {
                        error: {
                            /** @enum {string} */
                            code: "INTERNAL_ERROR";
                            message: string;
                            details?: {
                                [key: string]: unknown;
                            };
                        };
                    };
                };
            };
            /** @description `SERVICE_UNAVAILABLE`: the database cannot be reached, or the connection was lost during the request, which may or may not have taken effect; retry (checkout with the same `Idempotency-Key` returns the order if the first attempt created it) */
            503: {
                headers: {
                    [name: string]: unknown;
                };
                content: {
                    "application/json": {
                        error: {
                            /** @enum {string} */
                            code: "SERVICE_UNAVAILABLE";
                            message: string;
                            details?: {
                                [key: string]: unknown;
                            };
                        };
                    };
                };
            };
        };
    };
    "wallet.change": {
        parameters: {
            query?: never;
            header?: never;
            path: {
                id: string;
            };
            cookie?: never;
        };
        requestBody: {
            content: {
                /**
                 * @example {
                 *       "amountCents": 10000,
                 *       "reason": "top_up",
                 *       "note": "gift card GC-1234"
                 *     }
                 */
                "application/json": {
                    amountCents: number;
                    /** @enum {string} */
                    reason: "top_up" | "goodwill" | "correction";
                    note?: string;
                };
            };
        };
        responses: {
            /** @description Top up, credit as goodwill or correct a customer's store credit */
            201: {
                headers: {
                    [name: string]: unknown;
                };
                content: {
                    /**
                     * @example {
                     *       "balanceCents": 10000,
                     *       "transaction": {
                     *         "id": 41,
                     *         "at": "2026-11-30T08:00:00.000Z",
                     *         "amountCents": 10000,
                     *         "reason": "top_up",
                     *         "orderId": null,
                     *         "note": "gift card GC-1234",
                     *         "balanceAfterCents": 10000
                     *       }
                     *     }
                     */
                    "application/json": components["schemas"]["WalletChange"];
                };
            };
            /**
             * @description `VALIDATION_FAILED`: a path, query, header or body field is missing, of the wrong type, out of range, too long, unknown (bodies reject unknown fields), or a string holds NUL or unpaired surrogates; `details: {in, issues: [{path, message}]}`
             *
             *     `MALFORMED_JSON`: the body is not JSON
             *
             *     `UNSUPPORTED_MEDIA_TYPE`: a body with a content-type other than JSON, or with a content-encoding (gzip, ...)
             *
             *     `MALFORMED_PATH`: the path is not valid percent-encoding
             */
            400: {
                headers: {
                    [name: string]: unknown;
                };
                content: {
                    "application/json": {
                        error: {
                            /** @enum {string} */
                            code: "VALIDATION_FAILED" | "MALFORMED_JSON" | "UNSUPPORTED_MEDIA_TYPE" | "MALFORMED_PATH";
                            message: string;
                            details?: {
                                [key: string]: unknown;
                            };
                        };
                    };
                };
            };
            /** @description `UNAUTHENTICATED`: protected route without a token, or a malformed, forged or expired one */
            401: {
                headers: {
                    [name: string]: unknown;
                };
                content: {
                    "application/json": {
                        error: {
                            /** @enum {string} */
                            code: "UNAUTHENTICATED";
                            message: string;
                            details?: {
                                [key: string]: unknown;
                            };
                        };
                    };
                };
            };
            /** @description `INSUFFICIENT_FUNDS`: checkout with store credit, or a wallet debit, that the balance does not cover; `details: {balanceCents, requiredCents}`; nothing changed */
            402: {
                headers: {
                    [name: string]: unknown;
                };
                content: {
                    "application/json": {
                        error: {
                            /** @enum {string} */
                            code: "INSUFFICIENT_FUNDS";
                            message: string;
                            details?: {
                                [key: string]: unknown;
                            };
                        };
                    };
                };
            };
            /** @description `FORBIDDEN`: a valid token whose role may not do this */
            403: {
                headers: {
                    [name: string]: unknown;
                };
                content: {
                    "application/json": {
                        error: {
                            /** @enum {string} */
                            code: "FORBIDDEN";
                            message: string;
                            details?: {
                                [key: string]: unknown;
                            };
                        };
                    };
                };
            };
            /** @description `NOT_FOUND`: no such route, product, cart, order or promotion code, or one that belongs to someone else */
            404: {
                headers: {
                    [name: string]: unknown;
                };
                content: {
                    "application/json": {
                        error: {
                            /** @enum {string} */
                            code: "NOT_FOUND";
                            message: string;
                            details?: {
                                [key: string]: unknown;
                            };
                        };
                    };
                };
            };
            /** @description `BODY_TOO_LARGE`: a body over `MAX_BODY_BYTES` (64 KiB) */
            413: {
                headers: {
                    [name: string]: unknown;
                };
                content: {
                    "application/json": {
                        error: {
                            /** @enum {string} */
                            code: "BODY_TOO_LARGE";
                            message: string;
                            details?: {
                                [key: string]: unknown;
                            };
                        };
                    };
                };
            };
            /** @description `INTERNAL_ERROR`: a bug; logged with its stack, nothing internal is returned */
            500: {
                headers: {
                    [name: string]: unknown;
                };
                content: {
                    "application/json": {
                        error: {
                            /** @enum {string} */
                            code: "INTERNAL_ERROR";
                            message: string;
                            details?: {
                                [key: string]: unknown;
                            };
                        };
                    };
                };
            };
            /** @description `SERVICE_UNAVAILABLE`: the database cannot be reached, or the connection was lost during the request, which may or may not have taken effect; retry (checkout with the same `Idempotency-Key` returns the order if the first attempt created it) */
            503: {
                headers: {
                    [name: string]: unknown;
                };
                content: {
                    "application/json": {
                        error: {
                            /** @enum {string} */
                            code: "SERVICE_UNAVAILABLE";
                            message: string;
                            details?: {
                                [key: string]: unknown;
                            };
                        };
                    };
                };
            };
        };
    };
    "reports.sales": {
        parameters: {
            query: {
                from: string;
                to: string;
            };
            header?: never;
            path?: never;
            cookie?: never;
        };
        requestBody?: never;
        responses: {
            /** @description Sales per day, top products and orders by status between two UTC dates (at most 366 days); revenue for ops and admin only */
            200: {
                headers: {
                    [name: string]: unknown;
                };
                content: {
                    /**
                     * @example {
                     *       "days": [
                     *         {
                     *           "date": "2026-11-30",
                     *           "orders": 41,
                     *           "units": 57,
                     *           "revenueCents": 215843
                     *         },
                     *         {
                     *           "date": "2026-12-01",
                     *           "orders": 212,
                     *           "units": 318,
                     *           "revenueCents": 1187562
                     *         }
                     *       ],
                     *       "topProducts": [
                     *         {
                     *           "sku": "SNEAKER-LTD-42",
                     *           "name": "Limited sneaker (42)",
                     *           "units": 120,
                     *           "revenueCents": 2148000
                     *         },
                     *         {
                     *           "sku": "TEE-BLK-M",
                     *           "name": "Black T-shirt (M)",
                     *           "units": 95,
                     *           "revenueCents": 189905
                     *         }
                     *       ],
                     *       "byStatus": {
                     *         "awaiting_payment": 2,
                     *         "placed": 14,
                     *         "on_hold": 1,
                     *         "confirmed": 96,
                     *         "shipped": 120,
                     *         "delivered": 22,
                     *         "cancelled": 9
                     *       }
                     *     }
                     */
                    "application/json": {
                        days: {
                            date: string;
                            orders: number;
                            units: number;
                            revenueCents?: number;
                        }[];
                        topProducts: {
                            sku: string;
                            name: string;
                            units: number;
                            revenueCents?: number;
                        }[];
                        byStatus: {
                            awaiting_payment: number;
                            placed: number;
                            on_hold: number;
                            confirmed: number;
                            shipped: number;
                            delivered: number;
                            cancelled: number;
                        };
                    };
                };
            };
            /** @description `VALIDATION_FAILED`: a path, query, header or body field is missing, of the wrong type, out of range, too long, unknown (bodies reject unknown fields), or a string holds NUL or unpaired surrogates; `details: {in, issues: [{path, message}]}` */
            400: {
                headers: {
                    [name: string]: unknown;
                };
                content: {
                    "application/json": {
                        error: {
                            /** @enum {string} */
                            code: "VALIDATION_FAILED";
                            message: string;
                            details?: {
                                [key: string]: unknown;
                            };
                        };
                    };
                };
            };
            /** @description `UNAUTHENTICATED`: protected route without a token, or a malformed, forged or expired one */
            401: {
                headers: {
                    [name: string]: unknown;
                };
                content: {
                    "application/json": {
                        error: {
                            /** @enum {string} */
                            code: "UNAUTHENTICATED";
                            message: string;
                            details?: {
                                [key: string]: unknown;
                            };
                        };
                    };
                };
            };
            /** @description `FORBIDDEN`: a valid token whose role may not do this */
            403: {
                headers: {
                    [name: string]: unknown;
                };
                content: {
                    "application/json": {
                        error: {
                            /** @enum {string} */
                            code: "FORBIDDEN";
                            message: string;
                            details?: {
                                [key: string]: unknown;
                            };
                        };
                    };
                };
            };
            /** @description `INTERNAL_ERROR`: a bug; logged with its stack, nothing internal is returned */
            500: {
                headers: {
                    [name: string]: unknown;
                };
                content: {
                    "application/json": {
                        error: {
                            /** @enum {string} */
                            code: "INTERNAL_ERROR";
                            message: string;
                            details?: {
                                [key: string]: unknown;
                            };
                        };
                    };
                };
            };
            /** @description `SERVICE_UNAVAILABLE`: the database cannot be reached, or the connection was lost during the request, which may or may not have taken effect; retry (checkout with the same `Idempotency-Key` returns the order if the first attempt created it) */
            503: {
                headers: {
                    [name: string]: unknown;
                };
                content: {
                    "application/json": {
                        error: {
                            /** @enum {string} */
                            code: "SERVICE_UNAVAILABLE";
                            message: string;
                            details?: {
                                [key: string]: unknown;
                            };
                        };
                    };
                };
            };
        };
    };
    "reports.inventory": {
        parameters: {
            query?: never;
            header?: never;
            path?: never;
            cookie?: never;
        };
        requestBody?: never;
        responses: {
            /** @description Every SKU's stock with its sales velocity, days of cover and suggested reorder, as the stock emails compute them */
            200: {
                headers: {
                    [name: string]: unknown;
                };
                content: {
                    /**
                     * @example {
                     *       "items": [
                     *         {
                     *           "sku": "SNEAKER-LTD-42",
                     *           "name": "Limited sneaker (42)",
                     *           "available": 12,
                     *           "minQuantity": 20,
                     *           "soldLast24h": 96,
                     *           "soldLast7d": 120,
                     *           "dailyRate": 96,
                     *           "daysOfCover": 0.125,
                     *           "suggestedReorder": 1352
                     *         }
                     *       ]
                     *     }
                     */
                    "application/json": {
                        items: {
                            sku: string;
                            name: string;
                            available: number;
                            minQuantity: number;
                            soldLast24h: number;
                            soldLast7d: number;
                            dailyRate: number;
                            daysOfCover: number | null;
                            suggestedReorder: number;
                        }[];
                    };
                };
            };
            /** @description `UNAUTHENTICATED`: protected route without a token, or a malformed, forged or expired one */
            401: {
                headers: {
                    [name: string]: unknown;
                };
                content: {
                    "application/json": {
                        error: {
                            /** @enum {string} */
                            code: "UNAUTHENTICATED";
                            message: string;
                            details?: {
                                [key: string]: unknown;
                            };
                        };
                    };
                };
            };
            /** @description `FORBIDDEN`: a valid token whose role may not do this */
            403: {
                headers: {
                    [name: string]: unknown;
                };
                content: {
                    "application/json": {
                        error: {
                            /** @enum {string} */
                            code: "FORBIDDEN";
                            message: string;
                            details?: {
                                [key: string]: unknown;
                            };
                        };
                    };
                };
            };
            /** @description `INTERNAL_ERROR`: a bug; logged with its stack, nothing internal is returned */
            500: {
                headers: {
                    [name: string]: unknown;
                };
                content: {
                    "application/json": {
                        error: {
                            /** @enum {string} */
                            code: "INTERNAL_ERROR";
                            message: string;
                            details?: {
                                [key: string]: unknown;
                            };
                        };
                    };
                };
            };
            /** @description `SERVICE_UNAVAILABLE`: the database cannot be reached, or the connection was lost during the request, which may or may not have taken effect; retry (checkout with the same `Idempotency-Key` returns the order if the first attempt created it) */
            503: {
                headers: {
                    [name: string]: unknown;
                };
                content: {
                    "application/json": {
                        error: {
                            /** @enum {string} */
                            code: "SERVICE_UNAVAILABLE";
                            message: string;
                            details?: {
                                [key: string]: unknown;
                            };
                        };
                    };
                };
            };
        };
    };
    "promotions.list": {
        parameters: {
            query?: {
                limit?: number;
                cursor?: string;
            };
            header?: never;
            path?: never;
            cookie?: never;
        };
        requestBody?: never;
        responses: {
            /** @description Promotions, by code, a page at a time */
            200: {
                headers: {
                    [name: string]: unknown;
                };
                content: {
                    /**
                     * @example {
                     *       "items": [
                     *         {
                     *           "code": "FLASH-10",
                     *           "kind": "percent",
                     *           "value": 10,
                     *           "currency": null,
                     *           "minSubtotalCents": 2000,
                     *           "startsAt": "2026-12-04T09:00:00.000Z",
                     *           "endsAt": "2026-12-04T21:00:00.000Z",
                     *           "usageLimit": 100,
                     *           "perCustomerLimit": 1,
                     *           "used": 0,
                     *           "active": true
                     *         }
                     *       ],
                     *       "nextCursor": null
                     *     }
                     */
                    "application/json": {
                        items: {
                            code: string;
                            /** @enum {string} */
                            kind: "percent" | "fixed";
                            value: number;
                            currency: string | null;
                            minSubtotalCents: number;
                            startsAt: string | null;
                            endsAt: string | null;
                            usageLimit: number | null;
                            perCustomerLimit: number | null;
                            used: number;
                            active: boolean;
                        }[];
                        nextCursor: string | null;
                    };
                };
            };
            /**
             * @description `VALIDATION_FAILED`: a path, query, header or body field is missing, of the wrong type, out of range, too long, unknown (bodies reject unknown fields), or a string holds NUL or unpaired surrogates; `details: {in, issues: [{path, message}]}`
             *
             *     `INVALID_CURSOR`: a pagination cursor this API did not issue
             */
            400: {
                headers: {
                    [name: string]: unknown;
                };
                content: {
                    "application/json": {
                        error: {
                            /** @enum {string} */
                            code: "VALIDATION_FAILED" | "INVALID_CURSOR";
                            message: string;
                            details?: {
                                [key: string]: unknown;
                            };
                        };
                    };
                };
            };
            /** @description `UNAUTHENTICATED`: protected route without a token, or a malformed, forged or expired one */
            401: {
                headers: {
                    [name: string]: unknown;
                };
                content: {
                    "application/json": {
                        error: {
                            /** @enum {string} */
                            code: "UNAUTHENTICATED";
                            message: string;
                            details?: {
                                [key: string]: unknown;
                            };
                        };
                    };
                };
            };
            /** @description `FORBIDDEN`: a valid token whose role may not do this */
            403: {
                headers: {
                    [name: string]: unknown;
                };
                content: {
                    "application/json": {
                        error: {
                            /** @enum {string} */
                            code: "FORBIDDEN";
                            message: string;
                            details?: {
                                [key: string]: unknown;
                            };
                        };
                    };
                };
            };
            /** @description `INTERNAL_ERROR`: a bug; logged with its stack, nothing internal is returned */
            500: {
                headers: {
                    [name: string]: unknown;
                };
                content: {
                    "application/json": {
                        error: {
                            /** @enum {string} */
                            code: "INTERNAL_ERROR";
                            message: string;
                            details?: {
                                [key: string]: unknown;
                            };
                        };
                    };
                };
            };
            /** @description `SERVICE_UNAVAILABLE`: the database cannot be reached, or the connection was lost during the request, which may or may not have taken effect; retry (checkout with the same `Idempotency-Key` returns the order if the first attempt created it) */
            503: {
                headers: {
                    [name: string]: unknown;
                };
                content: {
                    "application/json": {
                        error: {
                            /** @enum {string} */
                            code: "SERVICE_UNAVAILABLE";
                            message: string;
                            details?: {
                                [key: string]: unknown;
                            };
                        };
                    };
                };
            };
        };
    };
    "promotions.create": {
        parameters: {
            query?: never;
            header?: never;
            path?: never;
            cookie?: never;
        };
        requestBody: {
            content: {
                /**
                 * @example {
                 *       "code": "FLASH-10",
                 *       "kind": "percent",
                 *       "value": 10,
                 *       "minSubtotalCents": 2000,
                 *       "startsAt": "2026-12-04T09:00:00Z",
                 *       "endsAt": "2026-12-04T21:00:00Z",
                 *       "usageLimit": 100,
                 *       "perCustomerLimit": 1
                 *     }
                 */
                "application/json": {
                    code: string;
                    /** @enum {string} */
                    kind: "percent" | "fixed";
                    value: number;
                    currency?: string;
                    /** @default 0 */
                    minSubtotalCents?: number;
                    /** @default null */
                    startsAt?: string | null;
                    /** @default null */
                    endsAt?: string | null;
                    /** @default null */
                    usageLimit?: number | null;
                    /** @default null */
                    perCustomerLimit?: number | null;
                };
            };
        };
        responses: {
            /** @description Create a coupon code: percent or fixed, with its window, minimum and limits */
            201: {
                headers: {
                    [name: string]: unknown;
                };
                content: {
                    /**
                     * @example {
                     *       "code": "FLASH-10",
                     *       "kind": "percent",
                     *       "value": 10,
                     *       "currency": null,
                     *       "minSubtotalCents": 2000,
                     *       "startsAt": "2026-12-04T09:00:00.000Z",
                     *       "endsAt": "2026-12-04T21:00:00.000Z",
                     *       "usageLimit": 100,
                     *       "perCustomerLimit": 1,
                     *       "used": 0,
                     *       "active": true
                     *     }
                     */
                    "application/json": {
                        code: string;
                        /** @enum {string} */
                        kind: "percent" | "fixed";
                        value: number;
                        currency: string | null;
                        minSubtotalCents: number;
                        startsAt: string | null;
                        endsAt: string | null;
                        usageLimit: number | null;
                        perCustomerLimit: number | null;
                        used: number;
                        active: boolean;
                    };
                };
            };
            /**
             * @description `VALIDATION_FAILED`: a path, query, header or body field is missing, of the wrong type, out of range, too long, unknown (bodies reject unknown fields), or a string holds NUL or unpaired surrogates; `details: {in, issues: [{path, message}]}`
             *
             *     `MALFORMED_JSON`: the body is not JSON
             *
             *     `UNSUPPORTED_MEDIA_TYPE`: a body with a content-type other than JSON, or with a content-encoding (gzip, ...)
             */
            400: {
                headers: {
                    [name: string]: unknown;
                };
                content: {
                    "application/json": {
                        error: {
                            /** @enum {string} */
                            code: "VALIDATION_FAILED" | "MALFORMED_JSON" | "UNSUPPORTED_MEDIA_TYPE";
                            message: string;
                            details?: {
                                [key: string]: unknown;
                            };
                        };
                    };
                };
            };
            /** @description `UNAUTHENTICATED`: protected route without a token, or a malformed, forged or expired one */
            401: {
                headers: {
                    [name: string]: unknown;
                };
                content: {
                    "application/json": {
                        error: {
                            /** @enum {string} */
                            code: "UNAUTHENTICATED";
                            message: string;
                            details?: {
                                [key: string]: unknown;
                            };
                        };
                    };
                };
            };
            /** @description `FORBIDDEN`: a valid token whose role may not do this */
            403: {
                headers: {
                    [name: string]: unknown;
                };
                content: {
                    "application/json": {
                        error: {
                            /** @enum {string} */
                            code: "FORBIDDEN";
                            message: string;
                            details?: {
                                [key: string]: unknown;
                            };
                        };
                    };
                };
            };
            /** @description `PROMOTION_EXISTS`: a promotion with that code exists (codes are matched case-insensitively) */
            409: {
                headers: {
                    [name: string]: unknown;
                };
                content: {
                    "application/json": {
                        error: {
                            /** @enum {string} */
                            code: "PROMOTION_EXISTS";
                            message: string;
                            details?: {
                                [key: string]: unknown;
                            };
                        };
                    };
                };
            };
            /** @description `BODY_TOO_LARGE`: a body over `MAX_BODY_BYTES` (64 KiB) */
            413: {
                headers: {
                    [name: string]: unknown;
                };
                content: {
                    "application/json": {
                        error: {
                            /** @enum {string} */
                            code: "BODY_TOO_LARGE";
                            message: string;
                            details?: {
                                [key: string]: unknown;
                            };
                        };
                    };
                };
            };
            /** @description `INTERNAL_ERROR`: a bug; logged with its stack, nothing internal is returned */
            500: {
                headers: {
                    [name: string]: unknown;
                };
                content: {
                    "application/json": {
                        error: {
                            /** @enum {string} */
                            code: "INTERNAL_ERROR";
                            message: string;
                            details?: {
                                [key: string]: unknown;
                            };
                        };
                    };
                };
            };
            /** @description `SERVICE_UNAVAILABLE`: the database cannot be reached, or the connection was lost during the request, which may or may not have taken effect; retry (checkout with the same `Idempotency-Key` returns the order if the first attempt created it) */
            503: {
                headers: {
                    [name: string]: unknown;
                };
                content: {
                    "application/json": {
                        error: {
                            /** @enum {string} */
                            code: "SERVICE_UNAVAILABLE";
                            message: string;
                            details?: {
                                [key: string]: unknown;
                            };
                        };
                    };
                };
            };
        };
    };
    "promotions.get": {
        parameters: {
            query?: never;
            header?: never;
            path: {
                code: string;
            };
            cookie?: never;
        };
        requestBody?: never;
        responses: {
            /** @description One promotion, with the uses taken */
            200: {
                headers: {
                    [name: string]: unknown;
                };
                content: {
                    /**
                     * @example {
                     *       "code": "FLASH-10",
                     *       "kind": "percent",
                     *       "value": 10,
                     *       "currency": null,
                     *       "minSubtotalCents": 2000,
                     *       "startsAt": "2026-12-04T09:00:00.000Z",
                     *       "endsAt": "2026-12-04T21:00:00.000Z",
                     *       "usageLimit": 100,
                     *       "perCustomerLimit": 1,
                     *       "used": 37,
                     *       "active": true
                     *     }
                     */
                    "application/json": {
                        code: string;
                        /** @enum {string} */
                        kind: "percent" | "fixed";
                        value: number;
                        currency: string | null;
                        minSubtotalCents: number;
                        startsAt: string | null;
                        endsAt: string | null;
                        usageLimit: number | null;
                        perCustomerLimit: number | null;
                        used: number;
                        active: boolean;
                    };
                };
            };
            /**
             * @description `VALIDATION_FAILED`: a path, query, header or body field is missing, of the wrong type, out of range, too long, unknown (bodies reject unknown fields), or a string holds NUL or unpaired surrogates; `details: {in, issues: [{path, message}]}`
             *
             *     `MALFORMED_PATH`: the path is not valid percent-encoding
             */
            400: {
                headers: {
                    [name: string]: unknown;
                };
                content: {
                    "application/json": {
                        error: {
                            /** @enum {string} */
                            code: "VALIDATION_FAILED" | "MALFORMED_PATH";
                            message: string;
                            details?: {
                                [key: string]: unknown;
                            };
                        };
                    };
                };
            };
            /** @description `UNAUTHENTICATED`: protected route without a token, or a malformed, forged or expired one */
            401: {
                headers: {
                    [name: string]: unknown;
                };
                content: {
                    "application/json": {
                        error: {
                            /** @enum {string} */
                            code: "UNAUTHENTICATED";
                            message: string;
                            details?: {
                                [key: string]: unknown;
                            };
                        };
                    };
                };
            };
            /** @description `FORBIDDEN`: a valid token whose role may not do this */
            403: {
                headers: {
                    [name: string]: unknown;
                };
                content: {
                    "application/json": {
                        error: {
                            /** @enum {string} */
                            code: "FORBIDDEN";
                            message: string;
                            details?: {
                                [key: string]: unknown;
                            };
                        };
                    };
                };
            };
            /** @description `NOT_FOUND`: no such route, product, cart, order or promotion code, or one that belongs to someone else */
            404: {
                headers: {
                    [name: string]: unknown;
                };
                content: {
                    "application/json": {
                        error: {
                            /** @enum {string} */
                            code: "NOT_FOUND";
                            message: string;
                            details?: {
                                [key: string]: unknown;
                            };
                        };
                    };
                };
            };
            /** @description `INTERNAL_ERROR`: a bug; logged with its stack, nothing internal is returned */
            500: {
                headers: {
                    [name: string]: unknown;
                };
                content: {
                    "application/json": {
                        error: {
                            /** @enum {string} */
                            code: "INTERNAL_ERROR";
                            message: string;
                            details?: {
                                [key: string]: unknown;
                            };
                        };
                    };
                };
            };
            /** @description `SERVICE_UNAVAILABLE`: the database cannot be reached, or the connection was lost during the request, which may or may not have taken effect; retry (checkout with the same `Idempotency-Key` returns the order if the first attempt created it) */
            503: {
                headers: {
                    [name: string]: unknown;
                };
                content: {
                    "application/json": {
                        error: {
                            /** @enum {string} */
                            code: "SERVICE_UNAVAILABLE";
                            message: string;
                            details?: {
                                [key: string]: unknown;
                            };
                        };
                    };
                };
            };
        };
    };
    "promotions.update": {
        parameters: {
            query?: never;
            header?: never;
            path: {
                code: string;
            };
            cookie?: never;
        };
        requestBody: {
            content: {
                /**
                 * @example {
                 *       "usageLimit": 150
                 *     }
                 */
                "application/json": {
                    active?: boolean;
                    endsAt?: string | null;
                    usageLimit?: number | null;
                    perCustomerLimit?: number | null;
                };
            };
        };
        responses: {
            /** @description Turn a promotion off or on, end it, or change its limits */
            200: {
                headers: {
                    [name: string]: unknown;
                };
                content: {
                    /**
                     * @example {
                     *       "code": "FLASH-10",
                     *       "kind": "percent",
                     *       "value": 10,
                     *       "currency": null,
                     *       "minSubtotalCents": 2000,
                     *       "startsAt": "2026-12-04T09:00:00.000Z",
                     *       "endsAt": "2026-12-04T21:00:00.000Z",
                     *       "usageLimit": 150,
                     *       "perCustomerLimit": 1,
                     *       "used": 37,
                     *       "active": true
                     *     }
                     */
                    "application/json": {
                        code: string;
                        /** @enum {string} */
                        kind: "percent" | "fixed";
                        value: number;
                        currency: string | null;
                        minSubtotalCents: number;
                        startsAt: string | null;
                        endsAt: string | null;
                        usageLimit: number | null;
                        perCustomerLimit: number | null;
                        used: number;
                        active: boolean;
                    };
                };
            };
            /**
             * @description `VALIDATION_FAILED`: a path, query, header or body field is missing, of the wrong type, out of range, too long, unknown (bodies reject unknown fields), or a string holds NUL or unpaired surrogates; `details: {in, issues: [{path, message}]}`
             *
             *     `MALFORMED_JSON`: the body is not JSON
             *
             *     `UNSUPPORTED_MEDIA_TYPE`: a body with a content-type other than JSON, or with a content-encoding (gzip, ...)
             *
             *     `MALFORMED_PATH`: the path is not valid percent-encoding
             */
            400: {
                headers: {
                    [name: string]: unknown;
                };
                content: {
                    "application/json": {
                        error: {
                            /** @enum {string} */
                            code: "VALIDATION_FAILED" | "MALFORMED_JSON" | "UNSUPPORTED_MEDIA_TYPE" | "MALFORMED_PATH";
                            message: string;
                            details?: {
                                [key: string]: unknown;
                            };
                        };
                    };
                };
            };
            /** @description `UNAUTHENTICATED`: protected route without a token, or a malformed, forged or expired one */
            401: {
                headers: {
                    [name: string]: unknown;
                };
                content: {
                    "application/json": {
                        error: {
                            /** @enum {string} */
                            code: "UNAUTHENTICATED";
                            message: string;
                            details?: {
                                [key: string]: unknown;
                            };
                        };
                    };
                };
            };
            /** @description `FORBIDDEN`: a valid token whose role may not do this */
            403: {
                headers: {
                    [name: string]: unknown;
                };
                content: {
                    "application/json": {
                        error: {
                            /** @enum {string} */
                            code: "FORBIDDEN";
                            message: string;
                            details?: {
                                [key: string]: unknown;
                            };
                        };
                    };
                };
            };
            /** @description `NOT_FOUND`: no such route, product, cart, order or promotion code, or one that belongs to someone else */
            404: {
                headers: {
                    [name: string]: unknown;
                };
                content: {
                    "application/json": {
                        error: {
                            /** @enum {string} */
                            code: "NOT_FOUND";
                            message: string;
                            details?: {
                                [key: string]: unknown;
                            };
                        };
                    };
                };
            };
            /** @description `PROMOTION_EXHAUSTED`: applying or redeeming a promotion whose `usageLimit` is reached, or lowering `usageLimit` below the uses taken; `details: {code, used, usageLimit}`; nothing changed */
            409: {
                headers: {
                    [name: string]: unknown;
                };
                content: {
                    "application/json": {
                        error: {
                            /** @enum {string} */
                            code: "PROMOTION_EXHAUSTED";
                            message: string;
                            details?: {
                                [key: string]: unknown;
                            };
                        };
                    };
                };
            };
            /** @description `BODY_TOO_LARGE`: a body over `MAX_BODY_BYTES` (64 KiB) */
            413: {
                headers: {
                    [name: string]: unknown;
                };
                content: {
                    "application/json": {
                        error: {
                            /** @enum {string} */
                            code: "BODY_TOO_LARGE";
                            message: string;
                            details?: {
                                [key: string]: unknown;
                            };
                        };
                    };
                };
            };
            /** @description `INTERNAL_ERROR`: a bug; logged with its stack, nothing internal is returned */
            500: {
                headers: {
                    [name: string]: unknown;
                };
                content: {
                    "application/json": {
                        error: {
                            /** @enum {string} */
                            code: "INTERNAL_ERROR";
                            message: string;
                            details?: {
                                [key: string]: unknown;
                            };
                        };
                    };
                };
            };
            /** @description `SERVICE_UNAVAILABLE`: the database cannot be reached, or the connection was lost during the request, which may or may not have taken effect; retry (checkout with the same `Idempotency-Key` returns the order if the first attempt created it) */
            503: {
                headers: {
                    [name: string]: unknown;
                };
                content: {
                    "application/json": {
                        error: {
                            /** @enum {string} */
                            code: "SERVICE_UNAVAILABLE";
                            message: string;
                            details?: {
                                [key: string]: unknown;
                            };
                        };
                    };
                };
            };
        };
    };
    "webhooks.stripe": {
        parameters: {
            query?: never;
            header?: {
                "stripe-signature"?: string;
            };
            path?: never;
            cookie?: never;
        };
        requestBody: {
            content: {
                /**
                 * @example {
                 *       "id": "evt_3QkFf2Lz9yQ1aB2c0d4e5f6g",
                 *       "object": "event",
                 *       "type": "payment_intent.succeeded",
                 *       "data": {
                 *         "object": {
                 *           "id": "pi_3QkFf2Lz9yQ1aB2c0h1i2j3k",
                 *           "object": "payment_intent",
                 *           "amount": 3998,
                 *           "amount_received": 3998,
                 *           "currency": "eur",
                 *           "status": "succeeded",
                 *           "metadata": {
                 *             "orderId": "7d1f6a52-3c2e-4b8e-9a3f-2f6c1d8e4b90",
                 *             "customerId": "0b6f3c1e-8d2a-4f6b-9c7e-5a4d3b2c1e0f"
                 *           }
                 *         }
                 *       }
                 *     }
                 */
                "application/json": {
                    id: string;
                    type: string;
                    data: {
                        object: {
                            [key: string]: unknown;
                        };
                    } & {
                        [key: string]: unknown;
                    };
                } & {
                    [key: string]: unknown;
                };
            };
        };
        responses: {
            /** @description Stripe's webhook: each payment event applied once (signed with STRIPE_WEBHOOK_SECRET) */
            200: {
                headers: {
                    [name: string]: unknown;
                };
                content: {
                    /**
                     * @example {
                     *       "received": true,
                     *       "outcome": "applied"
                     *     }
                     */
                    "application/json": {
                        /** @constant */
                        received: true;
                        /** @enum {string} */
                        outcome: "applied" | "refund" | "ignored" | "duplicate";
                    };
                };
            };
            /**
             * @description `VALIDATION_FAILED`: a path, query, header or body field is missing, of the wrong type, out of range, too long, unknown (bodies reject unknown fields), or a string holds NUL or unpaired surrogates; `details: {in, issues: [{path, message}]}`
             *
             *     `UNSUPPORTED_MEDIA_TYPE`: a body with a content-type other than JSON, or with a content-encoding (gzip, ...)
             *
             *     `INVALID_SIGNATURE`: `POST /webhooks/stripe` without a `Stripe-Signature` header, with one that does not match the body and `STRIPE_WEBHOOK_SECRET` (or is older than 5 minutes), or while Stripe is not configured; nothing changed
             */
            400: {
                headers: {
                    [name: string]: unknown;
                };
                content: {
                    "application/json": {
                        error: {
                            /** @enum {string} */
                            code: "VALIDATION_FAILED" | "UNSUPPORTED_MEDIA_TYPE" | "INVALID_SIGNATURE";
                            message: string;
                            details?: {
                                [key: string]: unknown;
                            };
                        };
                    };
                };
            };
            /** @description `BODY_TOO_LARGE`: a body over `MAX_BODY_BYTES` (64 KiB) */
            413: {
                headers: {
                    [name: string]: unknown;
                };
                content: {
                    "application/json": {
                        error: {
                            /** @enum {string} */
                            code: "BODY_TOO_LARGE";
                            message: string;
                            details?: {
                                [key: string]: unknown;
                            };
                        };
                    };
                };
            };
            /** @description `INTERNAL_ERROR`: a bug; logged with its stack, nothing internal is returned */
            500: {
                headers: {
                    [name: string]: unknown;
                };
                content: {
                    "application/json": {
                        error: {
                            /** @enum {string} */
                            code: "INTERNAL_ERROR";
                            message: string;
                            details?: {
                                [key: string]: unknown;
                            };
                        };
                    };
                };
            };
            /** @description `SERVICE_UNAVAILABLE`: the database cannot be reached, or the connection was lost during the request, which may or may not have taken effect; retry (checkout with the same `Idempotency-Key` returns the order if the first attempt created it) */
            503: {
                headers: {
                    [name: string]: unknown;
                };
                content: {
                    "application/json": {
                        error: {
                            /** @enum {string} */
                            code: "SERVICE_UNAVAILABLE";
                            message: string;
                            details?: {
                                [key: string]: unknown;
                            };
                        };
                    };
                };
            };
        };
    };
}
