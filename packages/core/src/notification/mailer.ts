/** An email as the domain composes it: both parts, always, so every mail client shows something. */
export interface Email {
  to: readonly string[];
  subject: string;
  text: string;
  html: string;
}

/** Sends email. In the cloud and locally an SES adapter (locally pointed at the SES emulator). */
export interface Mailer {
  /** Resolves once the email service accepted the message; throws when it did not. */
  send(email: Email): Promise<{ messageId: string }>;
}
