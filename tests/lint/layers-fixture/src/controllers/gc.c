int controllers_start(void);

int ctrl_gc_sync(void)
{
    return controllers_start();
}
