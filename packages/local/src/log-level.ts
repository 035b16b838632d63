// Imported first by main.ts: the Powertools logger reads POWERTOOLS_LOG_LEVEL once, when the
// handlers' module that creates it is imported, and resets to that level on every invocation.
// A default set later in main() would come too late.
process.env.POWERTOOLS_LOG_LEVEL ||= "WARN";
