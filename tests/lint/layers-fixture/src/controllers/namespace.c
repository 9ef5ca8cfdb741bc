int controllers_start(void);

int ctrl_namespace_sync(void)
{
    return controllers_start();
}
