import { processOnce } from "@flashstock/core/events/outbox";
import { InventoryEventData } from "@flashstock/core/inventory/events";
import * as Notification from "@flashstock/core/notification/index";
import { emailConfig } from "../lib/config.ts";
import { consumer } from "../lib/queue.ts";
import { db, emailSender } from "../lib/resources.ts";

const CONSUMER = "stock-alerts";

/**
 * The stock manager's alerts. The database writes inventory.low only when a SKU crosses below its
 * minimum and inventory.restocked when it gets back to it, so one crossing is one email; the
 * consumer's record of each event makes a redelivery send nothing. inventory.restocked needs no
 * email: it is what re-arms the next low-stock alert.
 */
export const handler = consumer(async (event) => {
  if (event.type !== "inventory.low" && event.type !== "inventory.out") return;
  const data = InventoryEventData.parse(event.data);
  await processOnce(db(), CONSUMER, event.id, async (tx) => {
    const facts = await Notification.salesFacts(tx, data.sku);
    if (!facts) throw new Error(`stock alert for unknown SKU ${data.sku}`);
    const c = emailConfig();
    const compose =
      event.type === "inventory.low" ? Notification.lowStockEmail : Notification.outOfStockEmail;
    await emailSender().send(compose(c.stockManagers, data, facts, c.reorderCoverDays, c.webUrl));
  });
});
