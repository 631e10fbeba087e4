/** The builder type, in a module of its own: the plugin entry names it without loading the builder. */
export const REMOTE_BUILDER_TYPE = "remote";
