/** osctl: the Bronze operator CLI (commands are wired in cli/commands/). */
console.error("osctl: not implemented yet");
Deno.exit(2);
