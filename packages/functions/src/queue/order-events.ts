import { processOnce } from "@flashstock/core/events/outbox";
import * as Notification from "@flashstock/core/notification/index";
import { OrderEventData, OrderRef } from "@flashstock/core/order/events";
import * as Orders from "@flashstock/core/order/index";
import * as z from "@flashstock/core/zod";
import { emailConfig } from "../lib/config.ts";
import { consumer } from "../lib/queue.ts";
import { db, emailSender, logger } from "../lib/resources.ts";

const CONSUMER = "order-events";

const CustomerNotice = z.extend(OrderRef, { reason: z.optional(z.nullable(z.string())) });

/**
 * Fulfilment's intake. order.placed and order.released confirm the order and email the customer;
 * order.held tells order operations about a suspected duplicate; order.cancelled tells the
 * customer what was refunded and where, order.shipped where to follow the parcel, and
 * order.refund_requested that a card payment which came after the cancellation goes back. Everything else
 * on the queue needs nothing from this consumer.
 */
export const handler = consumer(async (event) => {
  switch (event.type) {
    case "order.placed":
    case "order.released": {
      const { orderId } = OrderEventData.parse(event.data);
      await processOnce(db(), CONSUMER, event.id, async (tx) => {
        // Cancelled, or already confirmed by an earlier event: nothing to confirm, nothing to say.
        const order = await Orders.confirmOrder(tx, orderId);
        if (!order) return logger.info("order not confirmable", { orderId });
        const customer = await Notification.getCustomer(tx, order.customerId);
        if (!customer)
          throw new Error(`customer ${order.customerId} of order ${orderId} not found`);
        await emailSender().send(Notification.orderConfirmationEmail(order, customer));
      });
      return;
    }
    case "order.held": {
      const data = OrderEventData.parse(event.data);
      await processOnce(db(), CONSUMER, event.id, async (tx) => {
        const held = await Orders.findOrder(tx, data.orderId);
        const original = data.hold && (await Orders.findOrder(tx, data.hold.duplicateOf));
        const customer = await Notification.getCustomer(tx, data.customerId);
        if (!held || !original || !customer) {
          throw new Error(`held order ${data.orderId}: order, original or customer not found`);
        }
        const c = emailConfig();
        await emailSender().send(
          Notification.heldOrderEmail(c.orderOps, held, original, customer, {
            api: c.apiUrl,
            web: c.webUrl,
          }),
        );
      });
      return;
    }
    case "order.cancelled":
    case "order.shipped":
    case "order.refund_requested": {
      const { orderId, reason } = CustomerNotice.parse(event.data);
      await processOnce(db(), CONSUMER, event.id, async (tx) => {
        const order = await Orders.findOrder(tx, orderId);
        const customer = order && (await Notification.getCustomer(tx, order.customerId));
        if (!order || !customer)
          throw new Error(`${event.type} ${orderId}: order or customer not found`);
        const email =
          event.type === "order.cancelled"
            ? Notification.orderCancelledEmail(order, customer, reason)
            : event.type === "order.shipped"
              ? Notification.orderShippedEmail(order, customer, emailConfig().webUrl)
              : Notification.latePaymentRefundEmail(order, customer);
        await emailSender().send(email);
      });
      return;
    }
    default:
      return;
  }
});
