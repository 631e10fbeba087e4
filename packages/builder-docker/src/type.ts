/** The builder type, in a module of its own: the plugin entry names it without loading the builder. */
export const DOCKER_BUILDER_TYPE = "docker";
