import type { SESv2Client } from "@aws-sdk/client-sesv2";
import type { Mailer } from "@flashstock/core/notification/mailer";

export interface SesMailerOptions {
  client: SESv2Client;
  /** A verified SES identity. */
  from: string;
  configurationSetName?: string;
}

const utf8 = (Data: string) => ({ Data, Charset: "UTF-8" });

/** Sends through SES v2; any error propagates, so that the consuming queue retries the message. */
export function createSesMailer(options: SesMailerOptions): Mailer {
  return {
    async send(email) {
      // Dynamic, so that a bundle imports the SDK only when it sends (see resources.ts).
      const { SendEmailCommand } = await import("@aws-sdk/client-sesv2");
      const { MessageId } = await options.client.send(
        new SendEmailCommand({
          FromEmailAddress: options.from,
          Destination: { ToAddresses: [...email.to] },
          Content: {
            Simple: {
              Subject: utf8(email.subject),
              Body: { Text: utf8(email.text), Html: utf8(email.html) },
            },
          },
          ConfigurationSetName: options.configurationSetName,
        }),
      );
      if (!MessageId) throw new Error("SES accepted the email but returned no MessageId");
      return { messageId: MessageId };
    },
  };
}
